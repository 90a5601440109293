//! Architecture checks: the compiler stays pure, and every module says what it does.
