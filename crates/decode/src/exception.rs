//! Exception-entry arithmetic. (Skeleton: filled in by the codec work.)
