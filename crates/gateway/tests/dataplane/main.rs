//! The data plane (`/v1`) through a real gateway on 127.0.0.1: its checks and metering
//! in-process (`checks`), and several gateway processes sharing one database (`nodes`).

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/node.rs"]
mod node;
#[path = "../support/chat.rs"]
mod support;
#[path = "../support/upstream_stub.rs"]
mod upstream_stub;

mod checks;
mod keys;
mod nodes;
