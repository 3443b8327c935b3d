//! Reading a request: its facts (headers, `request.cf`), its body fields, its route, its
//! User-Agent and its phone number. Everything an attacker types passes through here once.

pub mod facts;
pub mod form;
pub mod phone;
pub mod route;
pub mod user_agent;
