//! Authentication and authorization, as pure code: SigV4 verification of
//! the `Authorization` header ([`sigv4`]), the credentials file
//! ([`credentials`]), the IAM-style policy engine ([`policy`]) and the
//! checks and canonical form of resource-based policies
//! ([`resource_policy`]).
//!
//! Where it sits: the runtime verifies every API and admin request's
//! signature before the operation is decoded (the body's hash is part of
//! the signature, so the whole body is received first); the API layer
//! gathers each request's facts (`api::access`) and asks [`policy`] for a
//! decision before any handler runs, so a denied request changes nothing.
//! Nothing here knows of glommio, sockets or the catalog.

pub mod credentials;
pub mod policy;
pub mod resource_policy;
pub mod sigv4;

pub use credentials::{Credentials, CredentialsError, Key};
pub use policy::{Decision, Facts, Policy};
pub use sigv4::{AuthError, Verifier};
