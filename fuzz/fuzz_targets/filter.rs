#![no_main]
// `settled`: the log filters read ahead on helper threads; wait for them to exit (see its docs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| zkformat_fuzz::settled(|| zkformat_fuzz::filter(data)));
