//! Client delivery for an application: messages with an idempotency key each, tracked
//! until the server has them, in a form an app can persist (across a reload, say).
//!
//! The tutorial's client delivery has two halves. The transport half (one packet in
//! flight, sent again on a timeout or a reconnection, a bounded number of tries) is the
//! socket's retry queue: [`Emitter::retries`](crate::Emitter::retries). This is the other
//! half, the application's: every message gets a key (`<page key>-<counter>`, the
//! tutorial's `clientOffset`) that stays the same on every try so the server stores it
//! once, and a [`State`] a user interface can show. It has no I/O and no clock.
//!
//! ```text
//!            push / retry            settle(Accepted)          delivered
//!   ──────────────▶ Pending ───────────────────────▶ Sent ───────────────▶ (gone)
//!                     │  ▲
//!   settle(Unanswered)│  │retry        settle(Refused): gone, returned to the caller
//!                     ▼  │
//!                    Failed
//! ```

use serde::{Deserialize, Serialize};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Handed to the socket, not yet acknowledged (in flight, queued, or waiting for the
    /// connection).
    Pending,
    /// Acknowledged: the server has it. It stays until the application sees it come
    /// back ([`Outbox::delivered`]), so it can be shown in place until then.
    Sent,
    /// Every try timed out; waiting for [`Outbox::retry`].
    Failed,
}

impl State {
    /// `pending`, `sent` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// One message of ours and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<M> {
    /// Its idempotency key, the same on every try.
    pub key: String,
    /// The application's message.
    pub message: M,
    /// Where it stands.
    pub state: State,
}

/// How the server answered one message (the application reads its own ack format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored (a retry the server had already stored counts too).
    Accepted,
    /// Refused for good, with the server's reason: sending it again would not help.
    Refused(String),
    /// No answer: every try timed out.
    Unanswered,
}

/// The messages of one page (or process) until the server has them, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox<M> {
    /// This outbox's part of every key: random, so keys never collide across pages.
    page_key: String,
    /// The counter part of the next key.
    next: u64,
    entries: Vec<Entry<M>>,
}

impl<M: Clone> Outbox<M> {
    /// An empty outbox whose keys start with `page_key` (give it 128 random bits).
    pub fn new(page_key: impl Into<String>) -> Self {
        Self { page_key: page_key.into(), next: 0, entries: Vec::new() }
    }

    /// Takes back what an earlier outbox left unsent ([`Outbox::unsent`]), keys unchanged,
    /// before anything new. They are all [`State::Pending`] again: send each once more
    /// (the server stores a key once, so one that did arrive is not doubled).
    pub fn restore(&mut self, saved: impl IntoIterator<Item = Entry<M>>) -> Vec<Entry<M>> {
        let mut restored: Vec<Entry<M>> = saved
            .into_iter()
            .filter(|e| !self.entries.iter().any(|mine| mine.key == e.key))
            .map(|e| Entry { state: State::Pending, ..e })
            .collect();
        let sent = restored.clone();
        restored.append(&mut self.entries);
        self.entries = restored;
        sent
    }

    /// Adds a message; returns its entry, to send with its key.
    pub fn push(&mut self, message: M) -> Entry<M> {
        let key = format!("{}-{}", self.page_key, self.next);
        self.next += 1;
        let entry = Entry { key, message, state: State::Pending };
        self.entries.push(entry.clone());
        entry
    }

    /// Records the server's answer to the message `key`. A refused message leaves the
    /// outbox and is returned, so the application can say why (and give the text back).
    /// An answer for a message no longer pending (a late one) changes nothing.
    pub fn settle(&mut self, key: &str, outcome: Outcome) -> Option<(Entry<M>, String)> {
        let index = self.entries.iter().position(|e| e.key == key && e.state == State::Pending)?;
        match outcome {
            Outcome::Accepted => self.entries[index].state = State::Sent,
            Outcome::Unanswered => self.entries[index].state = State::Failed,
            Outcome::Refused(reason) => return Some((self.entries.remove(index), reason)),
        }
        None
    }

    /// A failed message is tried again: it is pending, and returned to be sent.
    pub fn retry(&mut self, key: &str) -> Option<Entry<M>> {
        let entry = self.entries.iter_mut().find(|e| e.key == key && e.state == State::Failed)?;
        entry.state = State::Pending;
        Some(entry.clone())
    }

    /// The message came back from the server (its broadcast, a replay, a page of history):
    /// it is delivered and leaves the outbox, whatever its state. Whether it was here.
    pub fn delivered(&mut self, key: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.key != key);
        self.entries.len() != before
    }

    /// Every message, in the order written.
    pub fn entries(&self) -> &[Entry<M>] {
        &self.entries
    }

    /// What the server does not have yet (pending or failed): what to persist.
    pub fn unsent(&self) -> Vec<Entry<M>> {
        self.entries.iter().filter(|e| e.state != State::Sent).cloned().collect()
    }

    /// How many messages the server does not have yet.
    pub fn waiting(&self) -> usize {
        self.entries.iter().filter(|e| e.state != State::Sent).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states<'a>(outbox: &'a Outbox<&str>) -> Vec<(&'a str, State)> {
        outbox.entries().iter().map(|e| (e.message, e.state)).collect()
    }

    #[test]
    fn keys_are_unique_and_stable() {
        let mut outbox = Outbox::new("k");
        let a = outbox.push("a");
        let b = outbox.push("b");
        assert_eq!((a.key.as_str(), b.key.as_str()), ("k-0", "k-1"));
        outbox.settle(&a.key, Outcome::Unanswered);
        assert_eq!(outbox.retry(&a.key).unwrap().key, "k-0", "a retry keeps its key");
    }

    #[test]
    fn accepted_then_delivered_leaves() {
        let mut outbox = Outbox::new("k");
        let a = outbox.push("a");
        assert_eq!(outbox.waiting(), 1);
        assert_eq!(outbox.settle(&a.key, Outcome::Accepted), None);
        assert_eq!(states(&outbox), [("a", State::Sent)]);
        assert_eq!(outbox.waiting(), 0);
        assert!(outbox.unsent().is_empty(), "the server has it: nothing to persist");
        assert!(outbox.delivered(&a.key));
        assert!(outbox.entries().is_empty());
        assert!(!outbox.delivered(&a.key));
    }

    #[test]
    fn a_broadcast_before_the_ack_delivers_too() {
        let mut outbox = Outbox::new("k");
        let a = outbox.push("a");
        assert!(outbox.delivered(&a.key));
        assert_eq!(outbox.settle(&a.key, Outcome::Accepted), None, "the late ack changes nothing");
        assert!(outbox.entries().is_empty());
    }

    #[test]
    fn unanswered_fails_and_retry_makes_it_pending_again() {
        let mut outbox = Outbox::new("k");
        let a = outbox.push("a");
        outbox.settle(&a.key, Outcome::Unanswered);
        assert_eq!(states(&outbox), [("a", State::Failed)]);
        assert_eq!(outbox.unsent().len(), 1, "a failed message is kept across a reload");
        assert!(outbox.retry("k-9").is_none());
        outbox.retry(&a.key).unwrap();
        assert_eq!(states(&outbox), [("a", State::Pending)]);
        assert!(outbox.retry(&a.key).is_none(), "only a failed message is retried");
    }

    #[test]
    fn refused_leaves_with_the_reason() {
        let mut outbox = Outbox::new("k");
        let a = outbox.push("a");
        let b = outbox.push("b");
        let (refused, reason) = outbox.settle(&a.key, Outcome::Refused("too long".into())).unwrap();
        assert_eq!((refused.message, reason.as_str()), ("a", "too long"));
        assert_eq!(states(&outbox), [("b", State::Pending)]);
        assert_eq!(outbox.settle(&b.key, Outcome::Accepted), None);
    }

    #[test]
    fn restore_puts_saved_messages_first_and_pending() {
        let mut before = Outbox::new("old");
        let a = before.push("a");
        let b = before.push("b");
        before.settle(&a.key, Outcome::Unanswered);
        before.settle(&b.key, Outcome::Accepted);
        let saved = serde_json::to_string(&before.unsent()).unwrap();

        let mut after: Outbox<&str> = Outbox::new("new");
        let c = after.push("c");
        let restored: Vec<Entry<&str>> = serde_json::from_str(&saved).unwrap();
        let resend = after.restore(restored);
        assert_eq!(resend.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["old-0"]);
        assert_eq!(states(&after), [("a", State::Pending), ("c", State::Pending)]);
        assert_eq!(after.entries()[1].key, c.key);
        assert!(after.restore(resend).is_empty(), "restoring twice adds nothing");
    }
}
