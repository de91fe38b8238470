#include "sim/history.hpp"

namespace pravaha::sim {

size_t history::invoke(const op_rec& op) {
    ops_.push_back(op);
    index_[{op.id.writer, op.id.seq}] = ops_.size() - 1;
    return ops_.size() - 1;
}

void history::acknowledged(size_t index) {
    auto stream = ops_[index].id.stream;
    if (acked_by_stream_.size() <= stream) {
        acked_by_stream_.resize(stream + 1);
    }
    acked_by_stream_[stream].push_back(index);
}

uint32_t history::add_txn(const txn_rec& t) {
    txns_.push_back(t);
    return static_cast<uint32_t>(txns_.size());
}

std::optional<size_t> history::find(const writer_seq& ev) const {
    auto it = index_.find(ev);
    return it == index_.end() ? std::nullopt : std::optional<size_t>{it->second};
}

const std::vector<size_t>& history::acked(uint32_t stream) const {
    static const std::vector<size_t> none;
    return stream < acked_by_stream_.size() ? acked_by_stream_[stream] : none;
}

}  // namespace pravaha::sim
