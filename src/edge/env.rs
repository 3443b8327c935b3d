//! Reads the gate configuration from Worker vars and secrets, once per isolate.

use crate::config::{self, Loaded};
use std::cell::RefCell;
use std::rc::Rc;
use worker::Env;

thread_local! {
    static LOADED: RefCell<Option<Rc<Loaded>>> = const { RefCell::new(None) };
}

/// The configuration for this isolate. The first call validates it and, if anything is wrong,
/// logs every problem in one line (never a secret value); later calls reuse the result.
pub fn loaded(env: &Env) -> Rc<Loaded> {
    if let Some(l) = LOADED.with(|c| c.borrow().clone()) {
        return l;
    }
    let l = Rc::new(config::load(|name| lookup(env, name)));
    if let Err(errors) = &l.config {
        let line = serde_json::json!({
            "gate": "config",
            "ok": false,
            "problems": errors.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "effect": "protected routes answer 503 until the configuration is fixed",
        });
        worker::console_error!("{line}");
    }
    LOADED.with(|c| *c.borrow_mut() = Some(l.clone()));
    l
}

/// A var or secret by name. Secrets and text vars are string bindings; a var written in
/// `wrangler.toml` as a number, a boolean or a table (e.g. `[vars.POLICY]`) arrives as a JSON
/// value and is read as its JSON text, rather than being mistaken for an unset var.
fn lookup(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &wasm_bindgen::JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    if let Some(s) = value.as_string() {
        return Some(s);
    }
    js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string())
}
