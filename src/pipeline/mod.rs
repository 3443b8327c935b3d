//! The sign-up pipeline, sans-IO: configuration, the steps from a request to a response, the
//! pages shown to people, and policy replay over the decision log.

pub mod config;
pub mod nojs;
pub mod page;
pub mod replay;
