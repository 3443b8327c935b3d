#![no_main]
libfuzzer_sys::fuzz_target!(|input: gate_fuzz::VerifyInput| gate_fuzz::verify(input));
