//! `classify` and `decodeTreePacked`, the hottest single-value calls, as raw
//! Node-API callbacks.
//!
//! Why raw: napi-rs 3 wraps every `#[napi]` function that takes arguments in a
//! borrow-tracking scope (`native_borrow`: a thread-local push/pop, an `Arc`
//! and a `Vec` allocation per call). For `classify` that bookkeeping cost more
//! than the classification itself (profiled with `perf` on bench/: about
//! 160 ns per call as `#[napi]`, 85 ns raw), and the target is 150 ns.
//! This callback takes two numbers and returns one, borrowing nothing.
//!
//! It is registered under the same name, `classify`, as the wasm build's
//! `#[wasm_bindgen] classify` (crates/wasm/src/lib.rs), with the same
//! semantics, argument conversion included: wasm-bindgen's glue hands each
//! argument to a wasm `i32` parameter, i.e. JS `ToNumber` then `ToInt32`, and
//! returns `ret >>> 0`. Here a number takes the fast path
//! (`napi_get_value_uint32`: ToUint32, same bits); anything else is first
//! coerced with `napi_coerce_to_number` (JS `ToNumber`), so `undefined` is 0,
//! `"5"` is 5, and a bigint or symbol throws V8's own TypeError, exactly as in
//! the wasm build.

use std::ptr;

use napi::bindgen_prelude::{sys, Env, Error, Object, Result, Status};
use napi::JsValue;
use napi_derive::napi;

/// Arguments of `classify(lo, hi)`.
const CLASSIFY_ARGC: usize = 2;

/// The JS name, shared with the wasm build and `DecodeApi` (ts/src/binding.ts).
const CLASSIFY_NAME: &std::ffi::CStr = c"classify";

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

/// JS `ToUint32(ToNumber(v))`, or `None` with the JS exception pending.
///
/// # Safety
/// `env` must be the live environment of the current callback and `v` a
/// value of it.
unsafe fn to_u32(env: sys::napi_env, v: sys::napi_value) -> Option<u32> {
    let mut out = 0u32;
    // SAFETY: per this function's contract; `out` is a valid out-pointer.
    if unsafe { sys::napi_get_value_uint32(env, v, &mut out) } == sys::Status::napi_ok {
        return Some(out);
    }
    // Not a number: ToNumber as wasm-bindgen's glue does. A throwing
    // conversion (bigint, symbol, a throwing valueOf) leaves the exception
    // pending and returns a non-ok status.
    let mut num = ptr::null_mut();
    // SAFETY: as above; `num` is a valid out-pointer.
    if unsafe { sys::napi_coerce_to_number(env, v, &mut num) } != sys::Status::napi_ok {
        return None;
    }
    // SAFETY: as above; `num` is the number just created in this scope.
    let status = unsafe { sys::napi_get_value_uint32(env, num, &mut out) };
    (status == sys::Status::napi_ok).then_some(out)
}

/// The body of a raw callback that takes an ESR as `lo`, `hi` (converted as
/// wasm-bindgen's glue does) and `N - 2` more arguments, and returns a u32:
/// `f` gets all `N` arguments and the joined ESR, and returns the result, or
/// `None` once it has thrown.
///
/// # Safety
/// `env` and `info` must be the live values Node passed to the callback.
unsafe fn esr_callback<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    f: impl FnOnce(&[sys::napi_value; N], u64) -> Option<u32>,
) -> sys::napi_value {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut ret = ptr::null_mut();
    // SAFETY: per this function's contract; `argv` has room for `argc`
    // values (Node fills missing ones with `undefined`) and `ret` is a valid
    // out-pointer. Returning null with an exception pending makes the call
    // throw it.
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
        // In order, stopping at the first that throws, as the wasm glue does.
        let Some(lo) = to_u32(env, argv[0]) else {
            return ptr::null_mut();
        };
        let Some(hi) = to_u32(env, argv[1]) else {
            return ptr::null_mut();
        };
        let Some(result) = f(&argv, (u64::from(hi) << 32) | u64::from(lo)) else {
            return ptr::null_mut();
        };
        sys::napi_create_uint32(env, result, &mut ret);
    }
    ret
}

/// `classify(lo: u32, hi: u32) -> u32`: `decode::classify(hi:lo).pack()`.
unsafe extern "C" fn classify(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are the live values Node passed to this callback.
    unsafe { esr_callback::<CLASSIFY_ARGC>(env, info, |_, esr| Some(decode::classify(esr).pack())) }
}

/// Arguments of `decodeTreePacked(lo, hi, out)`.
const TREE_ARGC: usize = 3;

/// The JS name (`DecodeApi.decodeTreePacked`, ts/src/binding.ts).
const TREE_NAME: &std::ffi::CStr = c"decodeTreePacked";

/// Throws a TypeError and returns null, the callback's "threw" value.
///
/// # Safety
/// `env` must be the live environment of the current callback.
unsafe fn throw_type_error(env: sys::napi_env, msg: &std::ffi::CStr) -> sys::napi_value {
    // SAFETY: per this function's contract; `msg` is NUL-terminated.
    unsafe { sys::napi_throw_type_error(env, ptr::null(), msg.as_ptr()) };
    ptr::null_mut()
}

/// `decodeTreePacked(lo: u32, hi: u32, out: Uint32Array) -> u32`: the field
/// tree of `hi:lo` as words (`decode::packed::decode_packed`) in `out`;
/// returns the words it takes, and writes nothing when that is more than
/// `out.length`. Raw because as `#[napi]` a call cost about 390 ns against
/// 320 here: the difference is napi-rs's borrow tracking of the typed array.
unsafe extern "C" fn decode_tree_packed(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are the live values Node passed to this callback.
    unsafe {
        esr_callback::<TREE_ARGC>(env, info, |argv, esr| {
            // SAFETY: `argv` holds values of this callback.
            let out = uint32_array(env, argv[2]).or_else(|| {
                throw_type_error(env, c"decodeTreePacked: out must be a Uint32Array");
                None
            })?;
            Some(decode::packed::decode_packed(esr, out) as u32)
        })
    }
}

/// `v`'s data if it is a Uint32Array, else `None` (nothing thrown).
///
/// # Safety
/// `env` must be the live environment of the current callback and `v` a value
/// of it. The slice is valid for the callback only; it runs on the JS thread,
/// so nothing else touches the array's data meanwhile.
unsafe fn uint32_array<'a>(env: sys::napi_env, v: sys::napi_value) -> Option<&'a mut [u32]> {
    let mut is_typed = false;
    let mut kind = 0;
    let mut len = 0usize;
    let mut data = ptr::null_mut();
    // SAFETY: per this function's contract; all out-pointers are valid.
    let ok = unsafe {
        sys::napi_is_typedarray(env, v, &mut is_typed) == sys::Status::napi_ok
            && is_typed
            && sys::napi_get_typedarray_info(
                env,
                v,
                &mut kind,
                &mut len,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            ) == sys::Status::napi_ok
    };
    if !ok || kind != sys::TypedarrayType::uint32_array {
        return None;
    }
    if len == 0 {
        return Some(&mut []);
    }
    // SAFETY: a Uint32Array's data is `len` aligned u32s.
    Some(unsafe { std::slice::from_raw_parts_mut(data.cast::<u32>(), len) })
}

/// Adds the raw callbacks to the module's exports.
#[napi(module_exports)]
pub fn register_fast_paths(exports: Object, env: Env) -> Result<()> {
    let callbacks: [(&std::ffi::CStr, sys::napi_callback); 2] = [
        (CLASSIFY_NAME, Some(classify)),
        (TREE_NAME, Some(decode_tree_packed)),
    ];
    for (name, callback) in callbacks {
        let mut f = ptr::null_mut();
        // SAFETY: `env` is the live module-init environment, the name is a
        // NUL-terminated string whose length is given, the callback has the
        // napi_callback signature and uses no data pointer.
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.to_bytes().len() as _,
                callback,
                ptr::null_mut(),
                &mut f,
            )
        };
        check(status, "napi_create_function")?;
        // SAFETY: `exports` is the module's exports object and `f` the function just created.
        let status =
            unsafe { sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), f) };
        check(status, "napi_set_named_property")?;
    }
    Ok(())
}
