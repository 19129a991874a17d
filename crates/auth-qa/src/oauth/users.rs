//! Each provider's user-info answer, in its real JSON shape, for the
//! fake provider to serve.

use serde_json::{Value, json};

/// Google's OpenID Connect user info.
pub fn google_user(sub: &str, email: &str, verified: bool) -> Value {
    json!({
        "sub": sub,
        "name": "홍길동",
        "given_name": "길동",
        "family_name": "홍",
        "picture": format!("https://lh3.googleusercontent.com/a/{sub}=s96-c"),
        "email": email,
        "email_verified": verified,
        "locale": "ko"
    })
}

/// Kakao's `v2/user/me`; `email: None` is a user who did not consent to
/// share it (or an app without the consent item).
pub fn kakao_user(id: u64, email: Option<&str>, verified: bool) -> Value {
    let mut account = json!({
        "profile_nickname_needs_agreement": false,
        "profile_image_needs_agreement": false,
        "profile": {
            "nickname": "카카오길동",
            "thumbnail_image_url": format!("https://k.kakaocdn.net/dn/{id}/img_110x110.jpg"),
            "profile_image_url": format!("https://k.kakaocdn.net/dn/{id}/img_640x640.jpg"),
            "is_default_image": false,
            "is_default_nickname": false
        }
    });
    match email {
        Some(email) => {
            account["has_email"] = json!(true);
            account["email_needs_agreement"] = json!(false);
            account["is_email_valid"] = json!(true);
            account["is_email_verified"] = json!(verified);
            account["email"] = json!(email);
        }
        None => {
            account["has_email"] = json!(true);
            account["email_needs_agreement"] = json!(true);
        }
    }
    json!({
        "id": id,
        "connected_at": "2025-11-23T09:00:00Z",
        "properties": {"nickname": "카카오길동"},
        "kakao_account": account
    })
}

/// Naver's `v1/nid/me`.
pub fn naver_user(id: &str, email: &str) -> Value {
    json!({
        "resultcode": "00",
        "message": "success",
        "response": {
            "id": id,
            "nickname": "네이버길동",
            "profile_image": "https://ssl.pstatic.net/static/pwe/address/img_profile.png",
            "age": "30-39",
            "gender": "M",
            "email": email,
            "mobile": "010-0000-0000",
            "name": "네이버 길동",
            "birthday": "10-01"
        }
    })
}
