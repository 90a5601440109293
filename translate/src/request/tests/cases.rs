//! Edge cases: grouping, ids, names, signatures, reasoning, errors.

use super::*;
