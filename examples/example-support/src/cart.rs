//! The cart of `session-cookie-server` and `session-header-server` (and their axum twins).

use serde::{Deserialize, Serialize};

/// The answer of `/cart` without a session.
pub const CART_EMPTY: &str = "Your basket is empty.";
/// The answer of the header example's `/login`.
pub const LOGIN_DONE: &str = "Successful login";
/// The answer of the header example's `/logout`.
pub const LOGOUT_DONE: &str = "Successful logout";

/// The cart of the two cart examples, with the JSON names of Ktor's sample:
/// `{"userID":"123","productIDs":[1,3,7]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartSession {
    /// The user's ID.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The products in the cart.
    #[serde(rename = "productIDs")]
    pub product_ids: Vec<i32>,
}

impl CartSession {
    /// The cart that logging in puts in the session.
    pub fn sample() -> Self {
        Self {
            user_id: "123".to_owned(),
            product_ids: vec![1, 3, 7],
        }
    }

    /// The product IDs as Kotlin prints a list: `[1, 3, 7]`.
    pub fn product_list(&self) -> String {
        let items: Vec<String> = self.product_ids.iter().map(i32::to_string).collect();
        format!("[{}]", items.join(", "))
    }

    /// The answer of `/cart`: `Product IDs: [1, 3, 7]`, or [`CART_EMPTY`] without a cart.
    pub fn page(cart: Option<&Self>) -> String {
        match cart {
            Some(cart) => format!("Product IDs: {}", cart.product_list()),
            None => CART_EMPTY.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_json_uses_ktor_names() {
        let json = serde_json::to_string(&CartSession::sample()).unwrap();
        assert_eq!(json, r#"{"userID":"123","productIDs":[1,3,7]}"#);
        let back: CartSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, CartSession::sample());
    }

    #[test]
    fn product_list_is_kotlin_list_text() {
        assert_eq!(CartSession::sample().product_list(), "[1, 3, 7]");
        let empty = CartSession {
            user_id: String::new(),
            product_ids: vec![],
        };
        assert_eq!(empty.product_list(), "[]");
        let one = CartSession {
            user_id: String::new(),
            product_ids: vec![-4],
        };
        assert_eq!(one.product_list(), "[-4]");
    }

    #[test]
    fn page_texts() {
        assert_eq!(
            CartSession::page(Some(&CartSession::sample())),
            "Product IDs: [1, 3, 7]"
        );
        assert_eq!(CartSession::page(None), CART_EMPTY);
    }
}
