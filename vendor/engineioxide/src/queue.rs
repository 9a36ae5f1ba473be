//! A bounded multi-producer, single-consumer queue that allocates nothing until it is used.
//!
//! Every socket owns one of these for its outgoing packets. `tokio::sync::mpsc` allocates its
//! first block of 32 slots when the channel is created, whatever the bound (about 5.4 KB per
//! socket with a `PacketBuf` per slot), so a server holding many idle connections paid that
//! for each of them. This queue keeps its packets in a `VecDeque` behind a mutex: empty, it
//! costs a few words; it grows with what is queued and gives memory back once drained.
//!
//! The API mirrors the subset of `tokio::sync::mpsc` that the crate uses (same error types),
//! so the transports read the same as before. Beside the queue, a slot holds the latest item
//! sent with [`Sender::replace_latest`] (the socket's volatile packets), outside the bound and
//! the order: a `tokio::sync::watch` channel of its own cost every socket 520 bytes more.

use std::{
    collections::VecDeque,
    future::poll_fn,
    pin::pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
};

use tokio::sync::{
    Notify,
    mpsc::error::{SendError, TryRecvError, TrySendError},
};

/// Slots a drained queue may keep for the next packets. None: a socket is idle most of its
/// life, and even the smallest buffer (4 slots of a `PacketBuf`, about 680 bytes) would
/// stay with every socket that was ever sent anything; a malloc and a free per batch of
/// packets cost far less than a write to the socket.
const KEEP_WHEN_EMPTY: usize = 0;

struct State<T> {
    queue: VecDeque<T>,
    /// Slots promised to [`Permit`]s not yet used.
    reserved: usize,
    /// The receiver closed the queue (or was dropped): nothing more can be sent.
    closed: bool,
    /// The receiver waiting for a packet.
    rx_waker: Option<Waker>,
    /// The latest item given to [`Sender::replace_latest`], not yet taken. Boxed: it is
    /// rarely used (volatile packets), and a `PacketBuf` inline (168 bytes) would be held by
    /// every socket.
    latest: Option<Box<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    capacity: usize,
    senders: AtomicUsize,
    /// Wakes senders waiting in [`Sender::closed`] or for room in [`Sender::send`].
    changed: Notify,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the queue inconsistent (every change
        // is a single push, pop or flag), so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a queue holding at most `capacity` items.
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "a queue needs room for at least one item");
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            reserved: 0,
            closed: false,
            rx_waker: None,
            latest: None,
        }),
        capacity,
        senders: AtomicUsize::new(1),
        changed: Notify::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The sending half; cheap to clone.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A slot reserved in the queue, sure to accept one item.
pub(crate) struct Permit<'a, T> {
    sender: &'a Sender<T>,
}

impl<T> Sender<T> {
    /// Queues `item` now, or gives it back when the queue is full or closed.
    pub(crate) fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(TrySendError::Closed(item));
        }
        if state.queue.len() + state.reserved >= self.shared.capacity {
            return Err(TrySendError::Full(item));
        }
        state.queue.push_back(item);
        let waker = state.rx_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Reserves room for one item.
    pub(crate) fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(TrySendError::Closed(()));
        }
        if state.queue.len() + state.reserved >= self.shared.capacity {
            return Err(TrySendError::Full(()));
        }
        state.reserved += 1;
        Ok(Permit { sender: self })
    }

    /// Queues `item`, waiting for room; fails only when the queue is closed.
    pub(crate) async fn send(&self, mut item: T) -> Result<(), SendError<T>> {
        loop {
            let mut notified = pin!(self.shared.changed.notified());
            notified.as_mut().enable();
            match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(back)) => return Err(SendError(back)),
                Err(TrySendError::Full(back)) => item = back,
            }
            notified.await;
        }
    }

    /// Puts `item` in the slot beside the queue, in place of one not yet taken, and wakes
    /// the receiver ([`Receiver::take_latest`]); gives it back when the queue is closed.
    pub(crate) fn replace_latest(&self, item: T) -> Result<(), T> {
        let item = Box::new(item);
        let mut state = self.shared.lock();
        if state.closed {
            return Err(*item);
        }
        let replaced = state.latest.replace(item);
        let waker = state.rx_waker.take();
        drop(state);
        // Dropped outside the lock: an item may own anything.
        drop(replaced);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether nothing is queued (slots reserved but not used yet do not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.shared.lock().queue.is_empty()
    }

    /// Wakes the receiver if it waits: something beside the queue needs it (a direct write
    /// left for the connection's task to flush, patch 11).
    pub(crate) fn wake_receiver(&self) {
        let waker = self.shared.lock().rx_waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the receiver has closed the queue.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Resolves once the receiver has closed the queue.
    pub(crate) async fn closed(&self) {
        loop {
            let mut notified = pin!(self.shared.changed.notified());
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender: a receiver waiting for more must learn there will be none.
            let waker = self.shared.lock().rx_waker.take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<'a, T> Permit<'a, T> {
    /// The queue this permit is for.
    pub(crate) fn sender(&self) -> &'a Sender<T> {
        self.sender
    }

    /// Queues `item` in the reserved slot.
    pub(crate) fn send(self, item: T) {
        let mut state = self.sender.shared.lock();
        state.reserved -= 1;
        // A queue closed since the reservation drops the item, as tokio's permits do.
        if !state.closed {
            state.queue.push_back(item);
        }
        let waker = state.rx_waker.take();
        drop(state);
        std::mem::forget(self);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        // Unused (or the item was written directly, patch 11): give the slot back. Only a
        // full queue can have senders waiting for room.
        let mut state = self.sender.shared.lock();
        let was_full = state.queue.len() + state.reserved >= self.sender.shared.capacity;
        state.reserved -= 1;
        drop(state);
        if was_full {
            self.sender.shared.changed.notify_waiters();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item, waiting for one; `None` once the queue is closed (or every sender is
    /// gone) and empty.
    #[allow(dead_code)] // The websocket polls (`poll_recv`); tests and the test harness wait.
    pub(crate) async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if there is one now.
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.lock();
        match self.pop(&mut state) {
            Some(item) => Ok(item),
            None if state.closed || self.shared.senders.load(Ordering::Acquire) == 0 => {
                Err(TryRecvError::Disconnected)
            }
            None => Err(TryRecvError::Empty),
        }
    }

    /// Polls for the next item (see [`Receiver::recv`]).
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // Without the latest slot looked at, `Err` cannot come.
        self.poll(cx, false, Self::pop).map(|next| next.ok().flatten())
    }

    /// Takes the item of [`Sender::replace_latest`], if any.
    #[cfg(test)]
    pub(crate) fn take_latest(&mut self) -> Option<T> {
        self.shared.lock().latest.take().map(|item| *item)
    }

    /// Polls for the next queued item or, when none is queued, the item of
    /// [`Sender::replace_latest`]: `Ok` for a queued one (`None` once closed and empty),
    /// `Err` for the latest. One lock for both, on the path of every packet sent.
    pub(crate) fn poll_recv_or_latest(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<T>, T>> {
        self.poll(cx, true, Self::pop)
    }

    /// Polls for something to send, taking only the latest item: `Ready(Ok(true))` when an
    /// item is queued (left in the queue, for [`Receiver::try_recv`]), `Ready(Err(item))`
    /// for the item of [`Sender::replace_latest`] when none is queued, `Ready(Ok(false))`
    /// once closed and empty; else the waker is registered. The websocket's loop takes
    /// queued items only while it holds its websocket, so that a sender writing directly
    /// cannot pass one taken and not yet written (patch 11).
    pub(crate) fn poll_queued_or_latest(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, T>> {
        self.poll(cx, true, |_, state| (!state.queue.is_empty()).then_some(()))
            .map(|next| next.map(|queued| queued.is_some()))
    }

    /// The three polls above under one lock: what `queued` finds in the queue first, then
    /// (with `latest`) the latest item, then `None` once closed, else the waker registered.
    fn poll<R>(
        &mut self,
        cx: &mut Context<'_>,
        latest: bool,
        queued: impl FnOnce(&Self, &mut State<T>) -> Option<R>,
    ) -> Poll<Result<Option<R>, T>> {
        let mut state = self.shared.lock();
        if let Some(found) = queued(self, &mut state) {
            return Poll::Ready(Ok(Some(found)));
        }
        if latest && let Some(item) = state.latest.take() {
            return Poll::Ready(Err(*item));
        }
        if state.closed || self.shared.senders.load(Ordering::Acquire) == 0 {
            return Poll::Ready(Ok(None));
        }
        match &mut state.rx_waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Closes the queue: senders fail from now on; what is queued can still be received.
    pub(crate) fn close(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_waiters();
    }

    fn pop(&self, state: &mut State<T>) -> Option<T> {
        let was_full = state.queue.len() + state.reserved >= self.shared.capacity;
        let item = state.queue.pop_front()?;
        if state.queue.is_empty() && state.queue.capacity() > KEEP_WHEN_EMPTY {
            state.queue = VecDeque::new();
        }
        // Only a full queue can have senders waiting for room.
        if was_full {
            self.shared.changed.notify_waiters();
        }
        Some(item)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.shared.capacity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn keeps_order_and_bound_and_reserved_slots() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).unwrap();
        let permit = tx.try_reserve().unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        permit.send(2);
        assert_eq!(rx.try_recv(), Ok(1));
        tx.try_send(3).unwrap();
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Ok(3));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        // An unused permit gives its slot back.
        drop(tx.try_reserve().unwrap());
        tx.try_send(4).unwrap();
        tx.try_send(5).unwrap();
    }

    #[test]
    fn allocates_only_while_in_use() {
        let (tx, mut rx) = channel(1024);
        assert_eq!(tx.shared.lock().queue.capacity(), 0);
        for i in 0..100 {
            tx.try_send(i).unwrap();
        }
        while rx.try_recv().is_ok() {}
        assert!(tx.shared.lock().queue.capacity() <= KEEP_WHEN_EMPTY);
    }

    #[test]
    fn closing_refuses_new_items_and_keeps_queued_ones() {
        let (tx, mut rx) = channel(4);
        tx.try_send(1).unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[tokio::test]
    async fn wakes_the_receiver_the_waiting_sender_and_closed() {
        let (tx, mut rx) = channel(1);
        let tx2 = tx.clone();
        let receiver = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = rx.recv().await {
                got.push(item);
                tokio::time::sleep(Duration::from_millis(5)).await;
                if got.len() == 3 {
                    rx.close();
                }
            }
            got
        });
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        tokio::time::timeout(Duration::from_secs(1), tx2.closed())
            .await
            .expect("closed resolves");
        assert!(tx.send(9).await.is_err());
        assert_eq!(receiver.await.unwrap(), vec![0, 1, 2]);
    }

    #[tokio::test]
    async fn the_latest_slot_keeps_one_item_and_wakes_the_receiver() {
        let (tx, mut rx) = channel::<u8>(1);
        tx.try_send(1).unwrap();
        // Outside the bound: the queue is full, the slot still takes an item, then another.
        assert_eq!(tx.replace_latest(2), Ok(()));
        assert_eq!(tx.replace_latest(3), Ok(()));
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.take_latest(), Some(3));
        assert_eq!(rx.take_latest(), None);

        let waiting = tokio::spawn(async move {
            poll_fn(|cx| rx.poll_recv_or_latest(cx).map(|next| next.err().unwrap_or(0))).await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.replace_latest(4).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert_eq!(got.expect("the receiver is woken").unwrap(), 4);
        assert_eq!(tx.replace_latest(5), Err(5), "the receiver is gone: the queue is closed");
    }

    #[tokio::test]
    async fn the_receiver_ends_when_every_sender_is_gone() {
        let (tx, mut rx) = channel::<u8>(1);
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(tx);
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(1), waiting)
                .await
                .unwrap()
                .unwrap(),
            None
        );
    }
}
