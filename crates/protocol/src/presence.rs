//! Who is online, overall and per room: see [`PRESENCE`](crate::events::PRESENCE).
//!
//! A user counts once however many tabs they have open, and stays online for a grace
//! period after their last socket goes (a reload is not a departure). Join and leave
//! notices are not stored: each client derives them from two successive snapshots.

use serde::{Deserialize, Serialize};

use crate::UserInfo;

/// Everyone online now, by nickname: `{ "users": [{ "userId", "nickname", "rooms": [...] }] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Online users, sorted by nickname then id.
    pub users: Vec<OnlineUser>,
}

/// A user online, and the chat rooms any of their sockets is in.
///
/// Read through [`OnlineUserWire`], not with serde's `flatten` (which buffers the object in
/// its `Content` first: a second decoder in the browser's WASM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "OnlineUserWire")]
pub struct OnlineUser {
    /// Who.
    #[serde(flatten)]
    pub user: UserInfo,
    /// Their rooms, by name.
    pub rooms: Vec<String>,
}

/// [`OnlineUser`] as it is on the wire: `{ "userId", "nickname", "rooms" }`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnlineUserWire {
    user_id: String,
    nickname: String,
    rooms: Vec<String>,
}

impl From<OnlineUserWire> for OnlineUser {
    fn from(OnlineUserWire { user_id, nickname, rooms }: OnlineUserWire) -> Self {
        Self { user: UserInfo { user_id, nickname }, rooms }
    }
}

/// What changed between two snapshots, for the conversation's notices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceChange {
    /// Came online.
    pub arrived: Vec<UserInfo>,
    /// Went offline.
    pub left: Vec<UserInfo>,
    /// Joined a room: (room, user).
    pub joined: Vec<(String, UserInfo)>,
    /// Left a room (or went offline while in it): (room, user).
    pub parted: Vec<(String, UserInfo)>,
}

impl Presence {
    /// Whether `user_id` is online.
    pub fn is_online(&self, user_id: &str) -> bool {
        self.users.iter().any(|u| u.user.user_id == user_id)
    }

    /// Who is in `room` (`None`: everyone online).
    pub fn in_room<'a>(&'a self, room: Option<&'a str>) -> impl Iterator<Item = &'a UserInfo> + 'a {
        self.users.iter().filter(move |u| room.is_none_or(|r| u.rooms.iter().any(|x| x == r))).map(|u| &u.user)
    }

    /// What changed from `before` to `self`.
    pub fn change_from(&self, before: &Presence) -> PresenceChange {
        let find = |p: &Presence, id: &str| p.users.iter().find(|u| u.user.user_id == id).cloned();
        let mut change = PresenceChange::default();
        for now in &self.users {
            match find(before, &now.user.user_id) {
                None => change.arrived.push(now.user.clone()),
                Some(was) => {
                    for room in now.rooms.iter().filter(|r| !was.rooms.contains(r)) {
                        change.joined.push((room.clone(), now.user.clone()));
                    }
                    for room in was.rooms.iter().filter(|r| !now.rooms.contains(r)) {
                        change.parted.push((room.clone(), now.user.clone()));
                    }
                }
            }
        }
        for was in &before.users {
            if find(self, &was.user.user_id).is_none() {
                change.left.push(was.user.clone());
            }
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, rooms: &[&str]) -> OnlineUser {
        OnlineUser {
            user: UserInfo { user_id: id.into(), nickname: id.to_uppercase() },
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn an_online_user_is_flat_on_the_wire() {
        let presence = Presence { users: vec![user("a", &["rust", "go"])] };
        let wire = serde_json::to_string(&presence).unwrap();
        assert_eq!(wire, r#"{"users":[{"userId":"a","nickname":"A","rooms":["rust","go"]}]}"#);
        assert_eq!(serde_json::from_str::<Presence>(&wire).unwrap(), presence);
        // Each field is required, in any order.
        let reordered = r#"{"users":[{"rooms":[],"nickname":"A","userId":"a"}]}"#;
        assert_eq!(serde_json::from_str::<Presence>(reordered).unwrap(), Presence { users: vec![user("a", &[])] });
        assert!(serde_json::from_str::<Presence>(r#"{"users":[{"userId":"a","nickname":"A"}]}"#).is_err());
    }

    #[test]
    fn changes_between_snapshots() {
        let before = Presence { users: vec![user("a", &["rust"]), user("b", &[])] };
        let after = Presence { users: vec![user("a", &["go"]), user("c", &["rust"])] };
        let change = after.change_from(&before);
        assert_eq!(change.arrived.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(change.left.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), ["b"]);
        assert_eq!(change.joined, [("go".to_string(), before.users[0].user.clone())]);
        assert_eq!(change.parted, [("rust".to_string(), before.users[0].user.clone())]);
        assert_eq!(after.in_room(Some("rust")).count(), 1);
        assert_eq!(after.in_room(None).count(), 2);
        assert_eq!(after.change_from(&after), PresenceChange::default());
    }
}
