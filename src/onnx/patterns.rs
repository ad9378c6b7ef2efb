//! Recognises multi-node patterns that zkinfer proves as one operator.
//!
//! Older exporters write layer normalisation as
//! `ReduceMean → Sub → Pow(2) → ReduceMean → Add(ε) → Sqrt → Div [→ Mul(γ)] [→ Add(β)]`.
//! zkinfer cannot prove `Sqrt` or a division by an activation on their own, but proves the whole
//! pattern exactly like `LayerNormalization`, so the pattern is replaced by one.

use std::collections::HashMap;

use tract_onnx::pb;

use super::{node_name, Constant, NodeRef};
use crate::error::ImportError;

/// The graph's nodes as [`NodeRef`]s, with every layer-normalisation pattern replaced by a
/// `LayerNormalization` node.
pub fn fuse_layer_norms(graph: &pb::GraphProto) -> Result<Vec<NodeRef>, ImportError> {
    let nodes: Vec<NodeRef> = graph
        .node
        .iter()
        .enumerate()
        .map(|(i, n)| NodeRef {
            name: node_name(n, i),
            op: n.op_type.clone(),
            inputs: n.input.clone(),
            outputs: n.output.clone(),
            attributes: n.attribute.clone(),
        })
        .collect();
    let constants = constants(graph);
    let producer: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for input in &n.inputs {
            consumers.entry(input.as_str()).or_default().push(i);
        }
    }
    for output in &graph.output {
        consumers
            .entry(output.name.as_str())
            .or_default()
            .push(usize::MAX);
    }

    let mut replaced: HashMap<usize, NodeRef> = HashMap::new();
    let mut removed = vec![false; nodes.len()];
    for (div, node) in nodes.iter().enumerate() {
        if node.op != "Div" || removed[div] {
            continue;
        }
        let Some(found) = match_layer_norm(&nodes, div, &producer, &consumers, &constants) else {
            continue;
        };
        for &i in &found.members {
            removed[i] = true;
        }
        replaced.insert(found.last, found.node);
    }
    Ok(nodes
        .into_iter()
        .enumerate()
        .filter_map(|(i, n)| match replaced.remove(&i) {
            Some(fused) => Some(fused),
            None if removed[i] => None,
            None => Some(n),
        })
        .collect())
}

/// Constants known before any node runs: initializers and `Constant` nodes.
fn constants(graph: &pb::GraphProto) -> HashMap<String, Constant> {
    let mut map: HashMap<String, Constant> = graph
        .initializer
        .iter()
        .filter_map(|t| {
            Constant::from_proto(t, &t.name)
                .ok()
                .map(|c| (t.name.clone(), c))
        })
        .collect();
    for n in graph.node.iter().filter(|n| n.op_type == "Constant") {
        if let (Some(out), Some(a)) = (n.output.first(), n.attribute.first()) {
            if let Ok(c) = Constant::from_attribute(a, out) {
                map.insert(out.clone(), c);
            }
        }
    }
    map
}

struct Found {
    node: NodeRef,
    members: Vec<usize>,
    last: usize,
}

fn match_layer_norm(
    nodes: &[NodeRef],
    div: usize,
    producer: &HashMap<&str, usize>,
    consumers: &HashMap<&str, Vec<usize>>,
    constants: &HashMap<String, Constant>,
) -> Option<Found> {
    let by = |name: &str, op: &str| -> Option<usize> {
        producer.get(name).copied().filter(|&i| nodes[i].op == op)
    };
    let only_to = |name: &str, readers: &[usize]| -> bool {
        let mut c = consumers.get(name).cloned().unwrap_or_default();
        c.sort_unstable();
        let mut r = readers.to_vec();
        r.sort_unstable();
        c == r
    };
    let single = |name: &str| constants.get(name).and_then(Constant::single);
    let axes = |i: usize| -> Option<Vec<i64>> {
        let n = &nodes[i];
        n.attr("axes").map(|a| a.ints.clone()).or_else(|| {
            n.inputs
                .get(1)
                .and_then(|a| constants.get(a))
                .map(Constant::ints)
        })
    };

    let (d, s) = (nodes[div].inputs.first()?, nodes[div].inputs.get(1)?);
    let sqrt = by(s, "Sqrt")?;
    let add_eps = by(&nodes[sqrt].inputs[0], "Add")?;
    let (v, eps) = {
        let i = &nodes[add_eps].inputs;
        match (single(&i[1]), single(&i[0])) {
            (Some(e), _) => (i[0].clone(), e),
            (None, Some(e)) => (i[1].clone(), e),
            _ => return None,
        }
    };
    let mean_sq = by(&v, "ReduceMean")?;
    let pow = by(&nodes[mean_sq].inputs[0], "Pow")?;
    if nodes[pow].inputs.first()? != d || single(nodes[pow].inputs.get(1)?)? != 2.0 {
        return None;
    }
    let sub = by(d, "Sub")?;
    let (x, m) = (nodes[sub].inputs.first()?, nodes[sub].inputs.get(1)?);
    let mean = by(m, "ReduceMean")?;
    if nodes[mean].inputs.first()? != x || axes(mean)? != axes(mean_sq)? || axes(mean)?.len() != 1 {
        return None;
    }
    // The intermediate tensors must not be used elsewhere.
    let ok = only_to(m, &[sub])
        && only_to(d, &[pow, div])
        && only_to(&nodes[pow].outputs[0], &[mean_sq])
        && only_to(&v, &[add_eps])
        && only_to(&nodes[add_eps].outputs[0], &[sqrt])
        && only_to(s, &[div]);
    if !ok {
        return None;
    }
    let mut members = vec![mean, sub, pow, mean_sq, add_eps, sqrt, div];
    let mut last = div;
    let mut output = nodes[div].outputs[0].clone();
    let (mut gamma, mut beta) = (String::new(), String::new());
    let sole = |name: &str| consumers.get(name).filter(|c| c.len() == 1).map(|c| c[0]);
    if let Some(mul) = sole(&output).filter(|&i| i != usize::MAX && nodes[i].op == "Mul") {
        let other = nodes[mul].inputs.iter().find(|i| **i != output)?;
        if constants.contains_key(other) {
            gamma = other.clone();
            members.push(mul);
            last = mul;
            output = nodes[mul].outputs[0].clone();
            if let Some(add) = sole(&output).filter(|&i| i != usize::MAX && nodes[i].op == "Add") {
                let other = nodes[add].inputs.iter().find(|i| **i != output)?;
                if constants.contains_key(other) {
                    beta = other.clone();
                    members.push(add);
                    last = add;
                    output = nodes[add].outputs[0].clone();
                }
            }
        }
    }
    let axis = axes(mean)?[0];
    let attribute = |name: &str, f: f32, i: i64, t: i32| pb::AttributeProto {
        name: name.into(),
        f,
        i,
        r#type: t,
        ..Default::default()
    };
    let node = NodeRef {
        name: nodes[div].name.clone(),
        op: "LayerNormalization".into(),
        inputs: vec![x.clone(), gamma, beta],
        outputs: vec![output],
        attributes: vec![
            attribute(
                "epsilon",
                eps as f32,
                0,
                pb::attribute_proto::AttributeType::Float as i32,
            ),
            attribute(
                "axis",
                0.0,
                axis,
                pb::attribute_proto::AttributeType::Int as i32,
            ),
        ],
    };
    members.retain(|&i| i != last);
    Some(Found {
        node,
        members,
        last,
    })
}
