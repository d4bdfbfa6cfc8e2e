//! Draws a figure (JSON) with Plotly.js in the browser. The server renders only the empty
//! container, so first paint and hydration never wait for the 4.8 MB Plotly script: it
//! loads `async`, and each chart waits for it here. Drawing goes through our own binding to
//! `Plotly.react` rather than `plotly::bindings`, which panics when Plotly fails; a failure
//! here is shown in the chart's place instead.

use leptos::prelude::*;

#[component]
pub fn Chart(id: &'static str, #[prop(into)] figure: Signal<String>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let json = figure.get();
        #[cfg(target_arch = "wasm32")]
        leptos::task::spawn_local(async move {
            match browser::draw(id, &json).await {
                Ok(()) => error.set(None),
                Err(e) => error.set(Some(e)),
            }
        });
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (json, error);
    });
    view! {
        <div id=id class="plot" role="img" aria-label="chart"></div>
        <p class="error" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
    }
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = Plotly, js_name = react)]
        fn plotly_react(id: &str, figure: &JsValue) -> Result<js_sys::Promise, JsValue>;
    }

    /// Resolves once `window.Plotly` exists: at once, or on the `load` event of the
    /// `<script id="plotly-js">` tag; fails if that script fails to load.
    async fn plotly_ready() -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        if js_sys::Reflect::has(&window, &"Plotly".into()).unwrap_or(false) {
            return Ok(());
        }
        let script = window
            .document()
            .and_then(|d| d.get_element_by_id("plotly-js"))
            .ok_or("the page has no Plotly.js script (plotly-js)")?;
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            let _ = script.add_event_listener_with_callback("load", &resolve);
            let _ = script.add_event_listener_with_callback("error", &reject);
        });
        JsFuture::from(promise).await.map(|_| ()).map_err(|_| {
            "Plotly.js did not load (plotly.min.js); charts cannot be drawn. The tables below have the data."
                .to_string()
        })
    }

    pub async fn draw(id: &str, json: &str) -> Result<(), String> {
        plotly_ready().await?;
        let figure = js_sys::JSON::parse(json).map_err(|e| format!("bad figure: {e:?}"))?;
        let promise = plotly_react(id, &figure).map_err(describe)?;
        JsFuture::from(promise).await.map(|_| ()).map_err(describe)
    }

    fn describe(e: JsValue) -> String {
        let text = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"));
        format!("the chart could not be drawn: {text}")
    }
}
