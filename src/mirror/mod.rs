//! The local mirror (sled 0.34.7): the only module that knows sled (being written).
