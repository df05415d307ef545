//! gzip for /metrics responses.

use std::io::Write;

pub fn compress(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = libflate::gzip::Encoder::new(Vec::with_capacity(body.len() / 8 + 64))?;
    enc.write_all(body)?;
    enc.finish().into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips() {
        let body = b"kube_pod_info{namespace=\"a\"} 1\n".repeat(1000);
        let z = compress(&body).unwrap();
        assert!(z.len() < body.len() / 10);
        let mut out = Vec::new();
        libflate::gzip::Decoder::new(&z[..])
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
