//! KVM bindings. (Skeleton.)
