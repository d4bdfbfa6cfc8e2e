//! The browser entry trunk builds: hydrates the server-rendered page.
#![recursion_limit = "256"]

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
