//! Draws a figure (JSON) with Plotly.js in the browser. The server renders only the empty
//! container, so first paint and hydration never wait for the Plotly script: it
//! loads `async`, and each chart waits for it here. Drawing goes through our own binding to
//! `Plotly.react` rather than `plotly::bindings`, which panics when Plotly fails; a failure
//! here is shown in the chart's place instead.
//!
//! A chart can report what the user picks on it (`on_event`): a click on a point, a range
//! brushed along the x axis and, where `legend_picks` is set, a click on a legend entry
//! (which then picks that series instead of hiding it).

use leptos::prelude::*;

/// What the user picked on a chart.
#[derive(Clone, Debug, PartialEq)]
pub enum PlotEvent {
    /// A point: its trace's name, x and y (in text, unescaped), and the
    /// pointer's height in y-axis units. With a unified hover every trace at that x is
    /// reported and the first is not the one under the pointer: `pointer_y` tells which.
    Click {
        trace: String,
        x: String,
        y: String,
        pointer_y: Option<f64>,
        /// A Sankey link: its source and target node labels.
        link: Option<(String, String)>,
    },
    /// A range brushed along the x axis (Plotly date strings, `from <= to`).
    Range { from: String, to: String },
    /// A legend entry: its trace's name.
    Legend { trace: String },
}

#[component]
pub fn Chart(
    id: &'static str,
    #[prop(into)] figure: Signal<String>,
    #[prop(optional)] on_event: Option<Callback<PlotEvent>>,
    /// Legend clicks are reported (and no longer hide series).
    #[prop(optional)]
    legend_picks: bool,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let json = figure.get();
        #[cfg(target_arch = "wasm32")]
        leptos::task::spawn_local(async move {
            match browser::draw(id, &json).await {
                Ok(()) => {
                    error.set(None);
                    if let Some(on_event) = on_event {
                        browser::listen(id, on_event, legend_picks);
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (json, error, on_event, legend_picks);
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

    /// Resolves once the chart's element is in the document. A chart's effect can run
    /// before its element is mounted (a panel that opens from the URL on load); when
    /// Plotly.js is already cached, `Plotly.react` would then find no element.
    async fn element_ready(id: &str) -> Result<(), String> {
        let window = web_sys::window().ok_or("no window")?;
        // About ten seconds of frames: far longer than any mount takes.
        for _ in 0..600 {
            let found = window
                .document()
                .and_then(|d| d.get_element_by_id(id))
                .is_some();
            if found {
                return Ok(());
            }
            let frame = js_sys::Promise::new(&mut |resolve, _| {
                let _ = window.request_animation_frame(&resolve);
            });
            let _ = JsFuture::from(frame).await;
        }
        Err(format!(
            "the chart's place ({id}) never appeared on the page"
        ))
    }

    pub async fn draw(id: &str, json: &str) -> Result<(), String> {
        plotly_ready().await?;
        element_ready(id).await?;
        let figure = js_sys::JSON::parse(json).map_err(|e| format!("bad figure: {e:?}"))?;
        let promise = plotly_react(id, &figure).map_err(describe)?;
        JsFuture::from(promise).await.map(|_| ()).map_err(describe)
    }

    fn get(v: &JsValue, key: &str) -> JsValue {
        js_sys::Reflect::get(v, &key.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn text(v: &JsValue) -> String {
        v.as_string()
            .or_else(|| v.as_f64().map(|n| n.to_string()))
            .unwrap_or_default()
    }

    /// A name, label or category as the data has it: Plotly reports the escaped text the
    /// figure gave it (`format::plotly_text`), and pages match these against data.
    fn label(v: &JsValue) -> String {
        crate::data::format::plotly_text_decode(&text(v))
    }

    /// The mouse event's height in the units of the chart's y axis (Plotly's axis object
    /// converts pixels: `p2l` from the plot area's top).
    fn pointer_y(gd: &JsValue, mouse: &JsValue) -> Option<f64> {
        let client_y = get(mouse, "clientY").as_f64()?;
        let rect = get(gd, "getBoundingClientRect")
            .dyn_into::<js_sys::Function>()
            .ok()?
            .call0(gd)
            .ok()?;
        let top = get(&rect, "top").as_f64()?;
        let axis = get(&get(gd, "_fullLayout"), "yaxis");
        let offset = get(&axis, "_offset").as_f64()?;
        let p2l = get(&axis, "p2l").dyn_into::<js_sys::Function>().ok()?;
        p2l.call1(&axis, &(client_y - top - offset).into())
            .ok()?
            .as_f64()
    }

    /// Plotly's events on the chart, turned into [`PlotEvent`]s. Listeners from an earlier
    /// draw are removed first (a redraw keeps the same element).
    pub fn listen(
        id: &str,
        on_event: leptos::prelude::Callback<super::PlotEvent>,
        legend_picks: bool,
    ) {
        use super::PlotEvent;
        use leptos::prelude::Callable;
        let Some(gd) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
        else {
            return;
        };
        let gd: JsValue = gd.into();
        let on = get(&gd, "on");
        let (Some(on), Some(remove)) = (
            on.dyn_ref::<js_sys::Function>(),
            get(&gd, "removeAllListeners")
                .dyn_into::<js_sys::Function>()
                .ok(),
        ) else {
            return;
        };
        for name in ["plotly_click", "plotly_selected", "plotly_legendclick"] {
            let _ = remove.call1(&gd, &name.into());
        }
        let gd_for_click = gd.clone();
        let click = Closure::<dyn Fn(JsValue)>::new(move |ev: JsValue| {
            let point =
                js_sys::Reflect::get_u32(&get(&ev, "points"), 0).unwrap_or(JsValue::UNDEFINED);
            if point.is_undefined() {
                return;
            }
            on_event.run(PlotEvent::Click {
                trace: label(&get(&get(&point, "data"), "name")),
                x: label(&get(&point, "x")),
                y: label(&get(&point, "y")),
                pointer_y: pointer_y(&gd_for_click, &get(&ev, "event")),
                link: {
                    let (source, target) = (get(&point, "source"), get(&point, "target"));
                    (!source.is_undefined() && !target.is_undefined())
                        .then(|| (label(&get(&source, "label")), label(&get(&target, "label"))))
                },
            });
        });
        let selected = Closure::<dyn Fn(JsValue)>::new(move |ev: JsValue| {
            let x = get(&get(&ev, "range"), "x");
            let (a, b) = (
                js_sys::Reflect::get_u32(&x, 0)
                    .map(|v| text(&v))
                    .unwrap_or_default(),
                js_sys::Reflect::get_u32(&x, 1)
                    .map(|v| text(&v))
                    .unwrap_or_default(),
            );
            if !a.is_empty() && !b.is_empty() {
                let (from, to) = if a <= b { (a, b) } else { (b, a) };
                on_event.run(PlotEvent::Range { from, to });
            }
        });
        // Returning false keeps Plotly from hiding the series: the click selects instead.
        let legend = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |ev: JsValue| {
            let n = get(&ev, "curveNumber").as_f64().unwrap_or(-1.0);
            let trace =
                js_sys::Reflect::get_u32(&get(&ev, "data"), n as u32).unwrap_or(JsValue::UNDEFINED);
            on_event.run(PlotEvent::Legend {
                trace: label(&get(&trace, "name")),
            });
            JsValue::FALSE
        });
        let _ = on.call2(&gd, &"plotly_click".into(), click.as_ref());
        let _ = on.call2(&gd, &"plotly_selected".into(), selected.as_ref());
        if legend_picks {
            let _ = on.call2(&gd, &"plotly_legendclick".into(), legend.as_ref());
        }
        // The element owns the listeners until the next draw replaces them.
        click.forget();
        selected.forget();
        legend.forget();
    }

    fn describe(e: JsValue) -> String {
        let text = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"));
        format!("the chart could not be drawn: {text}")
    }
}
