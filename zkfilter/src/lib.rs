//! Shared plumbing of the `zkfilter` and `zkdump` command-line tools.
