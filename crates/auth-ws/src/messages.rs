//! The `session` contract's server messages.

use auth_domain::sessions::session::RevokeReason;
use auth_domain::sessions::status::EndReason;
use serde_json::json;

/// The document's message for a session ended by a newer login.
pub const NEW_LOGIN: &str = "새로운 로그인이 확인되었습니다. 자동으로 로그아웃됩니다!";

/// The `LOGOUT` text of a session an administrator revoked.
pub const ADMIN_LOGOUT: &str = "관리자에 의해 로그아웃되었습니다.";

/// The `LOGOUT` text of a session ended by disabling its account.
pub const ACCOUNT_DISABLED: &str = "계정이 비활성화되어 로그아웃됩니다.";

/// The `LOGOUT` text for each reason a session ends.
pub fn logout_message(reason: RevokeReason) -> &'static str {
    match reason {
        RevokeReason::NewLogin => NEW_LOGIN,
        RevokeReason::Logout => "로그아웃되었습니다.",
        RevokeReason::Withdrawal => "회원 탈퇴로 로그아웃됩니다.",
        RevokeReason::PasswordReset => "비밀번호가 변경되어 로그아웃됩니다. 다시 로그인해 주세요.",
        RevokeReason::RefreshReuse => "보안 위험이 감지되어 로그아웃됩니다. 다시 로그인해 주세요.",
        RevokeReason::Admin => ADMIN_LOGOUT,
        RevokeReason::AccountDisabled => ACCOUNT_DISABLED,
    }
}

/// The `LOGOUT` text for a session found over by a status check.
pub fn end_message(reason: EndReason) -> &'static str {
    match reason {
        EndReason::Revoked(reason) => logout_message(reason),
        EndReason::Expired => "세션이 만료되었습니다. 다시 로그인해 주세요.",
    }
}

/// `{"type": kind, "message": message, "timestamp": <epoch ms>}`.
pub fn frame(kind: &str, message: &str, timestamp_ms: i64) -> String {
    json!({"type": kind, "message": message, "timestamp": timestamp_ms}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&frame("LOGOUT", NEW_LOGIN, 1_678_234_567_890)).unwrap();
        assert_eq!(
            v,
            json!({"type": "LOGOUT", "message": "새로운 로그인이 확인되었습니다. 자동으로 로그아웃됩니다!", "timestamp": 1_678_234_567_890_i64})
        );
    }
}
