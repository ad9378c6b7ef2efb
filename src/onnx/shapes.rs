//! Shape arithmetic for import: broadcasting and the index maps of data-movement operators.
//!
//! Every map says, for each output element (row-major), which input element it reads.

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// Iterates the multi-indices of `shape` in row-major order.
fn indices(shape: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let total: usize = shape.iter().product();
    (0..total).map(move |mut flat| {
        let mut index = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        index
    })
}

/// The result of broadcasting two shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broadcast {
    /// The output shape.
    pub shape: Vec<usize>,
    /// Per output element, the element of the first input it reads.
    pub a: Vec<u32>,
    /// Per output element, the element of the second input it reads.
    pub b: Vec<u32>,
}

/// A data-movement result: the output shape and, per output element, (input, element).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gathered {
    /// The output shape.
    pub shape: Vec<usize>,
    /// Per output element: (input number, element index).
    pub sources: Vec<(u8, u32)>,
}

/// The indices of a batched matrix product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatMulIndices {
    /// The output shape.
    pub shape: Vec<usize>,
    /// Terms per output.
    pub terms: usize,
    /// `[outputs][terms]` indices into the first input.
    pub a: Vec<u32>,
    /// `[outputs][terms]` indices into the second input.
    pub b: Vec<u32>,
}

/// Numpy broadcasting of two shapes: the output shape and, per output element, the element of
/// each input it reads.
pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Broadcast, String> {
    let rank = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        std::iter::repeat_n(1, rank - s.len())
            .chain(s.iter().copied())
            .collect()
    };
    let (pa, pb) = (pad(a), pad(b));
    let out: Vec<usize> = pa
        .iter()
        .zip(&pb)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect::<Result<_, _>>()?;
    let (sa, sb) = (strides(&pa), strides(&pb));
    let map = |index: &[usize], shape: &[usize], strides: &[usize]| -> u32 {
        index
            .iter()
            .zip(shape)
            .zip(strides)
            .map(|((&i, &n), &s)| if n == 1 { 0 } else { i * s })
            .sum::<usize>() as u32
    };
    let (mut ia, mut ib) = (Vec::new(), Vec::new());
    for index in indices(&out) {
        ia.push(map(&index, &pa, &sa));
        ib.push(map(&index, &pb, &sb));
    }
    Ok(Broadcast {
        shape: out,
        a: ia,
        b: ib,
    })
}

/// Transposition by `perm`.
pub fn transpose(shape: &[usize], perm: &[usize]) -> Result<(Vec<usize>, Vec<u32>), String> {
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if sorted != (0..shape.len()).collect::<Vec<_>>() {
        return Err(format!(
            "perm {perm:?} is not a permutation of the {} axes",
            shape.len()
        ));
    }
    let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let s = strides(shape);
    let sources = indices(&out)
        .map(|index| {
            index
                .iter()
                .zip(perm)
                .map(|(&i, &p)| i * s[p])
                .sum::<usize>() as u32
        })
        .collect();
    Ok((out, sources))
}

/// ONNX Slice along `axes` with `starts`, `ends`, `steps` (negative values count from the end).
pub fn slice(
    shape: &[usize],
    starts: &[i64],
    ends: &[i64],
    axes: &[i64],
    steps: &[i64],
) -> Result<(Vec<usize>, Vec<u32>), String> {
    let rank = shape.len() as i64;
    let mut ranges: Vec<(usize, usize, usize)> = shape.iter().map(|&n| (0, n, 1)).collect();
    for (i, &axis) in axes.iter().enumerate() {
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(format!("axis {axis} out of range"));
        }
        let n = shape[axis as usize] as i64;
        let step = steps.get(i).copied().unwrap_or(1);
        if step != 1 {
            return Err(format!("slice step {step} is not supported (only 1)"));
        }
        let clamp = |v: i64| (if v < 0 { v + n } else { v }).clamp(0, n) as usize;
        let (start, end) = (clamp(starts[i]), clamp(ends[i]));
        ranges[axis as usize] = (start, end.max(start), 1);
    }
    let out: Vec<usize> = ranges.iter().map(|&(s, e, _)| e - s).collect();
    let st = strides(shape);
    let sources = indices(&out)
        .map(|index| {
            index
                .iter()
                .zip(&ranges)
                .zip(&st)
                .map(|((&i, &(s, _, _)), &k)| (s + i) * k)
                .sum::<usize>() as u32
        })
        .collect();
    Ok((out, sources))
}

/// Concatenation along `axis`: per output element, (input number, element).
pub fn concat(shapes: &[Vec<usize>], axis: i64) -> Result<Gathered, String> {
    let first = shapes.first().ok_or("nothing to concatenate")?;
    let rank = first.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    if axis >= first.len() {
        return Err(format!("axis {axis} out of range"));
    }
    for s in shapes {
        if s.len() != first.len()
            || s.iter()
                .enumerate()
                .any(|(d, &n)| d != axis && n != first[d])
        {
            return Err(format!(
                "shapes {shapes:?} cannot be concatenated on axis {axis}"
            ));
        }
    }
    let mut out = first.clone();
    out[axis] = shapes.iter().map(|s| s[axis]).sum();
    let mut offsets = Vec::new();
    let mut acc = 0;
    for s in shapes {
        offsets.push(acc);
        acc += s[axis];
    }
    let sources = indices(&out)
        .map(|index| {
            let input = offsets.iter().rposition(|&o| index[axis] >= o).unwrap_or(0);
            let mut local = index.clone();
            local[axis] -= offsets[input];
            let st = strides(&shapes[input]);
            (
                input as u8,
                local.iter().zip(&st).map(|(&i, &k)| i * k).sum::<usize>() as u32,
            )
        })
        .collect();
    Ok(Gathered {
        shape: out,
        sources,
    })
}

/// ONNX Reshape semantics (`0` copies a dimension, `-1` is inferred).
pub fn reshape(shape: &[usize], target: &[i64]) -> Result<Vec<usize>, String> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 => out.push(*shape.get(i).ok_or("0 refers to a missing dimension")?),
            d if d > 0 => out.push(d as usize),
            d => return Err(format!("invalid target dimension {d}")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(format!("cannot reshape {shape:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "cannot reshape {shape:?} ({total} values) to {out:?}"
        ));
    }
    Ok(out)
}

/// Batched matrix product `[..., m, k] × [..., k, n]` with broadcast batch dimensions: the
/// output shape, terms per output, and per output the `k` elements of each input.
pub fn matmul(a: &[usize], b: &[usize]) -> Result<MatMulIndices, String> {
    if a.len() < 2 || b.len() < 2 {
        return Err(format!(
            "MatMul of shapes {a:?} and {b:?}: both must have at least 2 dimensions"
        ));
    }
    let (m, k) = (a[a.len() - 2], a[a.len() - 1]);
    let (k2, n) = (b[b.len() - 2], b[b.len() - 1]);
    if k != k2 {
        return Err(format!(
            "MatMul of shapes {a:?} and {b:?}: inner dimensions differ"
        ));
    }
    let batch = broadcast(&a[..a.len() - 2], &b[..b.len() - 2])?;
    let (ia, ib) = (batch.a, batch.b);
    let mut out = batch.shape;
    out.extend([m, n]);
    let (mut ai, mut bi) = (Vec::new(), Vec::new());
    for (&pa, &pb) in ia.iter().zip(&ib) {
        let (base_a, base_b) = (pa as usize * m * k, pb as usize * k * n);
        for i in 0..m {
            for j in 0..n {
                for t in 0..k {
                    ai.push((base_a + i * k + t) as u32);
                    bi.push((base_b + t * n + j) as u32);
                }
            }
        }
    }
    Ok(MatMulIndices {
        shape: out,
        terms: k,
        a: ai,
        b: bi,
    })
}

/// Reduction over `axes`: the output shape and, per output, the input elements it sums.
pub fn reduce(
    shape: &[usize],
    axes: &[i64],
    keepdims: bool,
) -> Result<(Vec<usize>, Vec<Vec<u32>>), String> {
    let rank = shape.len() as i64;
    let mut reduced = vec![false; shape.len()];
    for &a in axes {
        let a = if a < 0 { a + rank } else { a };
        if !(0..rank).contains(&a) {
            return Err(format!("axis {a} out of range"));
        }
        reduced[a as usize] = true;
    }
    let kept: Vec<usize> = shape
        .iter()
        .zip(&reduced)
        .map(|(&n, &r)| if r { 1 } else { n })
        .collect();
    let st = strides(shape);
    let members: Vec<usize> = shape
        .iter()
        .zip(&reduced)
        .map(|(&n, &r)| if r { n } else { 1 })
        .collect();
    let groups = indices(&kept)
        .map(|base| {
            indices(&members)
                .map(|offset| {
                    base.iter()
                        .zip(&offset)
                        .zip(&st)
                        .map(|((&b, &o), &s)| (b + o) * s)
                        .sum::<usize>() as u32
                })
                .collect()
        })
        .collect();
    let out = if keepdims {
        kept
    } else {
        shape
            .iter()
            .zip(&reduced)
            .filter(|(_, &r)| !r)
            .map(|(&n, _)| n)
            .collect()
    };
    Ok((out, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_maps_elements() {
        let m = broadcast(&[2, 3], &[3]).unwrap();
        assert_eq!(m.shape, vec![2, 3]);
        assert_eq!(m.a, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(m.b, vec![0, 1, 2, 0, 1, 2]);
        let m = broadcast(&[2, 1], &[1, 3]).unwrap();
        assert_eq!(m.shape, vec![2, 3]);
        assert_eq!((m.a, m.b), (vec![0, 0, 0, 1, 1, 1], vec![0, 1, 2, 0, 1, 2]));
        assert!(broadcast(&[2, 3], &[2]).is_err());
    }

    #[test]
    fn transpose_slice_concat_reduce() {
        let (out, s) = transpose(&[2, 3], &[1, 0]).unwrap();
        assert_eq!((out, s), (vec![3, 2], vec![0, 3, 1, 4, 2, 5]));
        let (out, s) = slice(&[2, 4], &[1], &[-1], &[1], &[]).unwrap();
        assert_eq!((out, s), (vec![2, 2], vec![1, 2, 5, 6]));
        let g = concat(&[vec![1, 2], vec![1, 1]], 1).unwrap();
        assert_eq!(
            (g.shape, g.sources),
            (vec![1, 3], vec![(0, 0), (0, 1), (1, 0)])
        );
        let (out, groups) = reduce(&[2, 3], &[1], false).unwrap();
        assert_eq!((out, groups), (vec![2], vec![vec![0, 1, 2], vec![3, 4, 5]]));
        let (out, groups) = reduce(&[1, 2, 2], &[1], true).unwrap();
        assert_eq!((out, groups), (vec![1, 1, 2], vec![vec![0, 2], vec![1, 3]]));
    }

    #[test]
    fn batched_matmul_indices() {
        let m = matmul(&[1, 2, 3], &[1, 3, 2]).unwrap();
        assert_eq!((m.shape, m.terms), (vec![1, 2, 2], 3));
        assert_eq!(&m.a[..3], &[0, 1, 2]); // row 0 of A
        assert_eq!(&m.b[..3], &[0, 2, 4]); // column 0 of B
        assert_eq!(&m.b[3..6], &[1, 3, 5]); // column 1
    }
}
