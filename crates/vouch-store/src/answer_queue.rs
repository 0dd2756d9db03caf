//! Group commit for first answers to invitations.
//!
//! Survey answers arrive in bursts (a mailing goes out, customers click).
//! SQLite has one writer: answers committed one by one queue on its lock,
//! and the waiters sleep in SQLite's busy handler for tens of milliseconds.
//! Instead, one task per store takes the answers waiting in a queue and
//! writes them all in one transaction, then answers each caller. Under load
//! a batch holds the answers that arrived while the previous one was
//! written; when idle a batch is a single answer, written at once.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot};
use vouch_domain::{Answer, ResponseId};

use crate::{Result, Store, StoreError, TextTags};

/// A first answer to an invitation.
pub struct FirstAnswer {
    pub invitation: i64,
    pub answer: Answer,
    /// The comment's tags, stored with it (`None`: tagged later).
    pub comment_tags: Option<TextTags>,
}

/// The most answers written in one transaction.
const MAX_BATCH: usize = 512;

/// Answers waiting for the writer; bounded, so a flood waits in the callers.
const QUEUE: usize = 4 * MAX_BATCH;

struct Queued {
    first: FirstAnswer,
    reply: oneshot::Sender<Result<Option<ResponseId>>>,
}

/// The store's answer writer, started on first use.
#[derive(Clone, Default)]
pub(crate) struct AnswerQueue(Arc<OnceLock<mpsc::Sender<Queued>>>);

impl Store {
    /// Stores the first answer to an invitation, with the invitation's
    /// claim and link, the comment's feedback item and its events,
    /// all in one transaction. `None` when it was answered already.
    pub async fn answer_invitation_once(&self, first: FirstAnswer) -> Result<Option<ResponseId>> {
        let (reply, answered) = oneshot::channel();
        let closed = || StoreError::Database(sqlx::Error::PoolClosed);
        self.answer_queue
            .0
            .get_or_init(|| {
                let (sender, receiver) = mpsc::channel(QUEUE);
                // The writer holds a store without the queue, so it stops
                // when the last handle to this store is dropped.
                let writer = Store {
                    answer_queue: AnswerQueue::default(),
                    ..self.clone()
                };
                tokio::spawn(write_answers(writer, receiver));
                sender
            })
            .send(Queued { first, reply })
            .await
            .map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }
}

async fn write_answers(store: Store, mut queue: mpsc::Receiver<Queued>) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // One lock order for every writer: PostgreSQL instances writing
        // overlapping batches cannot deadlock.
        batch.sort_by_key(|q| q.first.invitation);
        let firsts: Vec<&FirstAnswer> = batch.iter().map(|q| &q.first).collect();
        match store.store_first_answers(&firsts).await {
            Ok(ids) => {
                for (queued, id) in batch.drain(..).zip(ids) {
                    // A caller that went away (a dropped request) is answered anyway.
                    let _ = queued.reply.send(Ok(id));
                }
            }
            // One bad answer must not fail the others: write each alone.
            Err(_) => {
                for queued in batch.drain(..) {
                    let alone = store
                        .store_first_answers(&[&queued.first])
                        .await
                        .map(|ids| ids.into_iter().next().flatten());
                    let _ = queued.reply.send(alone);
                }
            }
        }
    }
}
