//! Raw Node-API entry points for the hottest single-value call.
//!
//! napi-rs 3 wraps every `#[napi]` function that takes arguments in a
//! borrow-tracking scope (`native_borrow`: a thread-local push/pop, an `Arc`
//! and a `Vec` allocation per call). For `classify` that bookkeeping cost more
//! than the classification (profiled with `perf` on bench/). `classifyFast`
//! is the same function as `classify` in decode.rs (same arguments, same
//! result: `Classification::pack` of `hi:lo`) registered as a plain Node-API
//! callback, which takes two numbers and returns one, borrowing nothing.

use std::ptr;

use napi::bindgen_prelude::{sys, Env, Error, Object, Result, Status};
use napi::JsValue;
use napi_derive::napi;

/// Arguments of `classifyFast(lo, hi)`.
const CLASSIFY_ARGC: usize = 2;

/// Turns a Node-API status into a napi-rs error naming the call.
fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            format!("{what} failed ({status})"),
        ))
    }
}

/// `classifyFast(lo: u32, hi: u32) -> u32`: `decode::classify(hi:lo).pack()`.
/// Arguments convert like `classify`'s (Node-API `napi_get_value_uint32`:
/// ToUint32); a missing or non-number argument throws a TypeError.
unsafe extern "C" fn classify_fast(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = CLASSIFY_ARGC;
    let mut argv = [ptr::null_mut(); CLASSIFY_ARGC];
    let mut halves = [0u32; CLASSIFY_ARGC];
    let mut ret = ptr::null_mut();
    // SAFETY: `env` and `info` are the live values Node passed to this
    // callback; `argv` has room for `argc` values and `halves`/`ret` are valid
    // out-pointers. Node fills missing arguments with `undefined`, for which
    // napi_get_value_uint32 returns napi_number_expected (thrown below).
    unsafe {
        if sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        ) != sys::Status::napi_ok
        {
            return ptr::null_mut();
        }
        for (v, out) in argv.iter().zip(halves.iter_mut()) {
            if sys::napi_get_value_uint32(env, *v, out) != sys::Status::napi_ok {
                sys::napi_throw_type_error(
                    env,
                    c"ERR_BAD_ARGUMENT".as_ptr(),
                    c"classifyFast(lo, hi): lo and hi must be numbers (u32 halves)".as_ptr(),
                );
                return ptr::null_mut();
            }
        }
        let esr = (u64::from(halves[1]) << 32) | u64::from(halves[0]);
        sys::napi_create_uint32(env, decode::classify(esr).pack(), &mut ret);
    }
    ret
}

/// Adds the raw entry points to the module's exports.
#[napi(module_exports)]
pub fn register_fast_paths(exports: Object, env: Env) -> Result<()> {
    let name = c"classifyFast";
    let mut f = ptr::null_mut();
    // SAFETY: `env` is the live module-init environment, `name` is a
    // NUL-terminated string whose length is given, `classify_fast` has the
    // napi_callback signature and uses no data pointer.
    let status = unsafe {
        sys::napi_create_function(
            env.raw(),
            name.as_ptr(),
            name.to_bytes().len() as _,
            Some(classify_fast),
            ptr::null_mut(),
            &mut f,
        )
    };
    check(status, "napi_create_function(classifyFast)")?;
    // SAFETY: `exports` is the module's exports object and `f` the function just created.
    let status =
        unsafe { sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), f) };
    check(status, "napi_set_named_property(classifyFast)")?;
    Ok(())
}
