//! What people and clients see, as plain data: the [`reply::Reply`] the drivers turn into a
//! response, and the translated pages ([`page`]) for people whose browser navigated.

pub mod page;
pub mod reply;
