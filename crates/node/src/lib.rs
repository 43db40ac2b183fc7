//! napi-rs addon. (Skeleton.)
#![deny(clippy::all)]
