//! The browser entry trunk builds: hydrates the server-rendered page (see `app::start`).
#![recursion_limit = "256"]

fn main() {
    console_error_panic_hook::set_once();
    app::start();
}
