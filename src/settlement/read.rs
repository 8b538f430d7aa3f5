//! Reading payments back from their providers by their recorded object ids, a bounded number
//! at a time. Reads only: `Provider::poll`.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::payment::Payment;
use crate::providers::{Output, Provider, ProviderError};

/// Reads in flight at once.
const PARALLEL_READS: usize = 16;

/// What reading one payment back gave.
#[derive(Debug)]
pub enum Read {
    /// The payment has no object id to read by.
    NoObject,
    /// Its adapter cannot read this kind of payment back.
    Unsupported,
    /// The provider's answer: the object as it is now, or why it could not be read.
    Answer(Box<Result<Output, ProviderError>>),
}

/// The object kind `p` created, with its adapter, when the adapter can read it back.
pub fn object_of<'a>(
    p: &Payment,
    providers: &'a HashMap<String, Arc<dyn Provider>>,
) -> Option<(&'a Arc<dyn Provider>, &'static str)> {
    let provider = providers.get(&p.provider)?;
    Some((provider, provider.payment_object(p.action)?))
}

/// Reads back every payment `wanted` accepts, in parallel; one [`Read`] per payment, in
/// their order (`None` for those not wanted).
pub async fn read_back(
    payments: &[Payment],
    providers: &HashMap<String, Arc<dyn Provider>>,
    wanted: impl Fn(&Payment) -> bool,
) -> Vec<Option<Read>> {
    let gate = Arc::new(Semaphore::new(PARALLEL_READS));
    let mut reads = JoinSet::new();
    let mut out: Vec<Option<Read>> = payments.iter().map(|_| None).collect();
    for (i, p) in payments.iter().enumerate().filter(|(_, p)| wanted(p)) {
        let Some(id) = p.provider_ref.clone() else {
            out[i] = Some(Read::NoObject);
            continue;
        };
        let Some((provider, object)) = object_of(p, providers) else {
            out[i] = Some(Read::Unsupported);
            continue;
        };
        let (provider, gate) = (provider.clone(), gate.clone());
        reads.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, provider.poll(object, &id).await)
        });
    }
    while let Some(done) = reads.join_next().await {
        if let Ok((i, answer)) = done {
            out[i] = Some(Read::Answer(Box::new(answer)));
        }
    }
    out
}
