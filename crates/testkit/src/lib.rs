//! Fixtures for pier's tests: real services, started once per test binary and stopped when it
//! exits. Nothing here is used by pier itself.

pub mod postgres;
pub mod seaweedfs;
