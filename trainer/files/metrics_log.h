// The metrics log (DESIGN.md 4.5): runs/NAME/metrics.jsonl, one JSON object per line, appended by tal train and tal
// ancestry train (train/metrics.cpp writes it). What the report reads back from it is the training loss per stage.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tal {

struct LossPoint {
  double step, loss;
};

// Every line holding a string "stage" and numbers "step" and "loss", by stage in file order; a line that is not a
// JSON object is refused naming the file and line. Other lines (events, a loss written as null) are passed over.
std::map<std::string, std::vector<LossPoint>> read_metrics_losses(const std::string& path);

}  // namespace tal
