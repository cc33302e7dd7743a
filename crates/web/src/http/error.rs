use crate::http::views::{ErrorPage, Layout};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Errors a handler can end with. Each becomes a Vietnamese page; the log gets the detail, the
/// citizen never sees internals.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] motcua_store::StoreError),
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// Nothing at this address (or nothing this caller may know of).
    #[error("not found")]
    NotFound,
    /// Signed in, but no role allows this.
    #[error("forbidden")]
    Forbidden,
    /// A form without the right CSRF token.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// Text with a NUL or a control character where no field takes one.
    #[error("NUL or control character in the request")]
    ControlCharacter,
    /// Anything else that went wrong on our side.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Không tìm thấy trang",
                "Địa chỉ bạn mở không tồn tại hoặc đã được chuyển đi.",
            ),
            WebError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Không có quyền truy cập",
                "Tài khoản của bạn không có quyền thực hiện thao tác này.",
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Biểu mẫu không hợp lệ",
                "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này. Vui lòng tải lại trang và thử lại; chưa có thay đổi nào được lưu.",
            ),
            WebError::ControlCharacter => (
                StatusCode::BAD_REQUEST,
                "Dữ liệu không hợp lệ",
                "Dữ liệu gửi lên có ký tự không hợp lệ (ký tự NUL hoặc ký tự điều khiển). Vui lòng nhập lại; chưa có thay đổi nào được lưu.",
            ),
            WebError::Store(_) | WebError::Template(_) | WebError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Hệ thống đang gặp sự cố",
                    "Yêu cầu của bạn chưa được xử lý. Vui lòng thử lại sau ít phút.",
                )
            }
        };
        let page = ErrorPage {
            layout: Layout::plain(title),
            title,
            message,
        };
        match page.render() {
            Ok(body) => (status, Html(body)).into_response(),
            Err(_) => (status, title).into_response(),
        }
    }
}
