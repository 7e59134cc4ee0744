//! Streaming zip writer with parallel deflate and ZIP64, for outputs that cannot seek
