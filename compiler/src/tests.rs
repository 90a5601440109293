//! Golden tests over `test_data/{ok,err}`: each `.yaml` input sits next to its expected
//! `.table` dump (ok) or rendered `.diagnostics` (err). `UPDATE_EXPECT=1` rewrites them.

mod tidy;
