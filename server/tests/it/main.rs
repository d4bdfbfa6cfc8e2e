//! Integration tests of the `heymax` binary and library (one test binary, modules by topic).

mod atomic;
mod binary;
mod export;
mod export_size;
mod hostile;
mod incremental;
mod input;
mod layers;
mod orchestrator;
mod own_events;
mod postgres;
mod properties;
mod run_api;
mod seed;
mod sensor;
mod spark;
mod timezone;
mod util;
mod web;
mod workflow;
