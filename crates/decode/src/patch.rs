//! Patch plans for software breakpoints. (Skeleton: filled in by the codec work.)
