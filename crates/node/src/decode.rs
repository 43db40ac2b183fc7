//! Decode bindings. (Skeleton.)
