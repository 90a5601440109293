//! Parameters: max tokens, temperature, stop, tool choice, formats, reasoning.

use super::*;
