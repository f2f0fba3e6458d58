//! What a debtor needs to pay, on every channel: a link the payment portal can trust
//! ([`link`]), the reference that names them on a bank statement ([`reference`]) and a QR
//! code that carries either ([`qr`]).
//!
//! One module below the channels: the e-mail, the SMS, the letter's slip and the payment
//! page quote the same link and reference, and none of them owns them.

pub mod account;
pub mod link;
pub mod qr;
pub mod reference;
