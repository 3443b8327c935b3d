//! Native IO: the `gate` command's HTTP client.

pub mod client;
