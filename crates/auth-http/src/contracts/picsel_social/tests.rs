//! Unit tests of `picsel_social`.

use super::*;

#[test]
fn fragments_are_percent_encoded() {
    assert_eq!(
        percent_encode("2025-12-08T11:00:00.000Z"),
        "2025-12-08T11%3A00%3A00.000Z"
    );
    assert_eq!(percent_encode("a.b-c_d~"), "a.b-c_d~");
    assert_eq!(percent_encode("가 &#"), "%EA%B0%80%20%26%23");
}

#[test]
fn echoed_values_are_bounded() {
    assert_eq!(echo("access_denied"), "access_denied");
    assert_eq!(echo("<script>x</script>"), "scriptxscript");
    assert_eq!(echo(&"a".repeat(100)).len(), 64);
}
