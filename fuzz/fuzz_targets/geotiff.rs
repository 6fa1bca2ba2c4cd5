#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| craters_fuzz::geotiff(data));
