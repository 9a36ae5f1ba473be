//! A namespace's events routed by name through one handler per socket, not one map entry
//! per event.
//!
//! socketioxide keeps each socket's message handlers in a map of its own, filled by
//! `socket.on` for every socket that connects: on `/` (13 events) that map was about 670 B
//! per connection in heaptrack, the same bytes for every socket. A [`Routes`] table is a
//! function of the event name, made once by the compiler: the socket holds a single
//! handler, its fallback ([`register`]), which is zero-sized, so boxing it allocates
//! nothing. Events are handled exactly as before: the same wrapped handler is called with
//! the same socket, data and ack id, synchronously, in the order they arrive.

use std::marker::PhantomData;
use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, SocketRef};
use socketioxide::handler::{FromMessageParts, MessageHandler};
use socketioxide::socket::Socket;
use socketioxide_core::Value;

/// One event's handler, as socketioxide calls it: the socket, the packet's data, its ack id.
pub type Route<A> = fn(Arc<Socket<A>>, Value, Option<i64>);

/// The routes of a namespace.
pub trait Routes<A: Adapter>: 'static {
    /// The handler of `event`, if it has one.
    fn route(event: &str) -> Option<Route<A>>;

    /// The handler of every event without a route.
    fn other() -> Route<A>;
}

/// A [`Route`] calling `handler` (any socketioxide message handler, wrappers included).
macro_rules! route {
    ($handler:expr) => {
        |socket, data, ack| socketioxide::handler::MessageHandler::call(&$handler, socket, data, ack)
    };
}
pub(crate) use route;

/// Registers `R`'s routes on `socket`, as its fallback handler (the socket has no other).
pub fn register<A: Adapter, R: Routes<A>>(socket: &SocketRef<A>) {
    socket.on_fallback(Router::<R>(PhantomData));
}

/// The socket's one handler: looks its event's route up and calls it.
struct Router<R>(PhantomData<fn() -> R>);

impl<R> Clone for Router<R> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

/// The `T` of [`Router`]'s `MessageHandler` (socketioxide's own implementations use tuples
/// of extractors there).
pub struct ByName;

impl<A: Adapter, R: Routes<A>> MessageHandler<A, ByName> for Router<R> {
    fn call(&self, socket: Arc<Socket<A>>, mut data: Value, ack_id: Option<i64>) {
        // socketioxide has read the event name before calling any handler (a packet whose
        // name cannot be read is refused there), so this does not fail.
        let Ok(Event(event)) = Event::from_message_parts(&socket, &mut data, &ack_id) else {
            return;
        };
        R::route(&event).unwrap_or_else(R::other)(socket, data, ack_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A router is zero-sized: socketioxide's `Box` of it allocates nothing per socket.
    #[test]
    fn the_router_costs_no_allocation() {
        struct None_;
        impl<A: Adapter> Routes<A> for None_ {
            fn route(_: &str) -> Option<Route<A>> {
                None
            }
            fn other() -> Route<A> {
                |_, _, _| {}
            }
        }
        assert_eq!(std::mem::size_of::<Router<None_>>(), 0);
    }
}
