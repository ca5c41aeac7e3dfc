#![no_main]
libfuzzer_sys::fuzz_target!(
    |input: zkformat_fuzz::WriterInput| zkformat_fuzz::writer_roundtrip(&input)
);
