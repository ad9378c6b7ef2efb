//! The keys a model object builds once and keeps: parameters per `k`, the circuit of each
//! claim, provers and verifiers of the whole model or of each slice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use halo2_proofs::poly::commitment::Params;
use zkinfer::params::Curve;
use zkinfer::{
    Claim, CompiledModel, Error, KeyStore, ParamsCache, Prover, SliceProver, SlicedVerifier,
    Verifier,
};

/// Values built on demand, one per key, kept until [`Keys::clear`].
struct Memo<K, V>(Mutex<Vec<(K, V)>>);

impl<K: PartialEq, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(K, V)>> {
        // A panic while the lock was held left the list whole: keep using it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, key: &K) -> Option<V> {
        self.lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn insert(&self, key: K, value: V) -> V {
        let mut list = self.lock();
        if let Some((_, existing)) = list.iter().find(|(k, _)| *k == key) {
            return existing.clone();
        }
        list.push((key, value.clone()));
        value
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

/// Everything a model object builds once: see the module docs.
pub struct Keys {
    cache: ParamsCache,
    store: KeyStore,
    params: Mutex<HashMap<u32, Arc<Params<Curve>>>>,
    circuits: Memo<Option<Claim>, Arc<CompiledModel>>,
    provers: Memo<Option<Claim>, Arc<Prover>>,
    slice_provers: Memo<(Option<Claim>, usize), Arc<SliceProver>>,
    verifiers: Memo<Option<Claim>, Verifier>,
    sliced_verifiers: Memo<Option<Claim>, Arc<SlicedVerifier>>,
    /// Held while keys are built, so two threads never build the same key twice.
    building: Mutex<()>,
    /// Provers and verifiers built so far.
    built: AtomicUsize,
}

impl Keys {
    /// Keys for a model, with parameters cached in `cache` and key commitments stored in its
    /// `keys/` folder when `store_keys`.
    pub fn new(cache: ParamsCache, store_keys: bool) -> Self {
        let store = if store_keys {
            KeyStore::in_cache(&cache)
        } else {
            KeyStore::none()
        };
        Self {
            cache,
            store,
            params: Mutex::new(HashMap::new()),
            circuits: Memo::new(),
            provers: Memo::new(),
            slice_provers: Memo::new(),
            verifiers: Memo::new(),
            sliced_verifiers: Memo::new(),
            building: Mutex::new(()),
            built: AtomicUsize::new(0),
        }
    }

    /// The parameter cache folder.
    pub fn cache(&self) -> &ParamsCache {
        &self.cache
    }

    /// Whether key commitments are stored.
    pub fn stores_keys(&self) -> bool {
        self.store.dir().is_some()
    }

    /// Forgets every key (the parameters too), freeing their memory.
    pub fn clear(&self) {
        self.params
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.circuits.clear();
        self.provers.clear();
        self.slice_provers.clear();
        self.verifiers.clear();
        self.sliced_verifiers.clear();
    }

    fn build<V: Clone, K: PartialEq + Clone>(
        &self,
        memo: &Memo<K, V>,
        key: &K,
        make: impl FnOnce() -> Result<V, Error>,
    ) -> Result<V, Error> {
        if let Some(value) = memo.get(key) {
            return Ok(value);
        }
        let _building = self.building.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = memo.get(key) {
            return Ok(value);
        }
        let value = make()?;
        self.built.fetch_add(1, Ordering::Relaxed);
        Ok(memo.insert(key.clone(), value))
    }

    /// How many provers and verifiers (of the model, a claim or a slice) were built so far.
    pub fn built(&self) -> usize {
        self.built.load(Ordering::Relaxed)
    }

    /// The public parameters for `k` (loaded from, or generated into, the cache).
    pub fn params(&self, k: u32) -> Result<Arc<Params<Curve>>, Error> {
        let mut params = self.params.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = params.get(&k) {
            return Ok(p.clone());
        }
        let (loaded, _) = self.cache.load_or_generate(k, |_| {})?;
        let loaded = Arc::new(loaded);
        params.insert(k, loaded.clone());
        Ok(loaded)
    }

    /// The circuit that proves `claim` about `model`'s output (`model` itself for no claim).
    pub fn circuit(
        &self,
        model: &Arc<CompiledModel>,
        claim: Option<&Claim>,
    ) -> Result<Arc<CompiledModel>, Error> {
        let Some(claim) = claim else {
            return Ok(model.clone());
        };
        let key = Some(claim.clone());
        if let Some(circuit) = self.circuits.get(&key) {
            return Ok(circuit);
        }
        let circuit = Arc::new(model.with_claim(claim)?);
        Ok(self.circuits.insert(key, circuit))
    }

    /// The prover of a model proven as one circuit.
    pub fn prover(
        &self,
        circuit: &Arc<CompiledModel>,
        claim: Option<&Claim>,
    ) -> Result<Arc<Prover>, Error> {
        self.build(&self.provers, &claim.cloned(), || {
            let params = self.params(circuit.k)?;
            Ok(Arc::new(circuit.prover_with(params, &self.store)?))
        })
    }

    /// The prover of slice `index` of a sliced model.
    pub fn slice_prover(
        &self,
        circuit: &Arc<CompiledModel>,
        claim: Option<&Claim>,
        index: usize,
    ) -> Result<Arc<SliceProver>, Error> {
        self.build(&self.slice_provers, &(claim.cloned(), index), || {
            let params = self.params(circuit.k)?;
            Ok(Arc::new(circuit.slice_prover_with(
                index,
                params,
                &self.store,
            )?))
        })
    }

    /// The verifier of a model proven as one circuit (the prover's, when it was built).
    pub fn verifier(
        &self,
        circuit: &Arc<CompiledModel>,
        claim: Option<&Claim>,
    ) -> Result<Verifier, Error> {
        let key = claim.cloned();
        if let Some(prover) = self.provers.get(&key) {
            return Ok(prover.verifier().clone());
        }
        self.build(&self.verifiers, &key, || {
            let params = self.params(circuit.k)?;
            circuit.verifier_with(params, &self.store)
        })
    }

    /// The verifier of a sliced model (from its slices' provers, when they were all built).
    pub fn sliced_verifier(
        &self,
        circuit: &Arc<CompiledModel>,
        claim: Option<&Claim>,
    ) -> Result<Arc<SlicedVerifier>, Error> {
        let count = circuit.sliced().map_or(0, |s| s.len());
        self.build(&self.sliced_verifiers, &claim.cloned(), || {
            let provers: Option<Vec<Verifier>> = (0..count)
                .map(|i| {
                    self.slice_provers
                        .get(&(claim.cloned(), i))
                        .map(|p| p.verifier().clone())
                })
                .collect();
            let verifier = match provers {
                Some(verifiers) if count > 0 => circuit.sliced_verifier_from(verifiers)?,
                _ => circuit.sliced_verifier_with(self.params(circuit.k)?, &self.store)?,
            };
            Ok(Arc::new(verifier))
        })
    }
}
