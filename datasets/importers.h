// Importers that turn datasets users have into task stores: Fashion-MNIST (gzip'd IDX, as the Debian package
// dataset-fashion-mnist ships it), a folder of class sub-folders of PNG/JPEG images, and the CIFAR binary format.
#pragma once

#include <string>
#include <vector>

#include "datasets/task_store.h"

namespace tal {

struct ImportedDataset {
  StoreMeta meta;
  SplitData train, test;
  std::vector<std::string> skipped;  // corrupt images left out (image folders with skip_corrupt)
};

// DIR holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
// t10k-labels-idx1-ubyte.gz (plain, uncompressed files are accepted too).
ImportedDataset import_fashion_mnist(const std::string& dir);

// DIR/<class>/*.png|jpg|jpeg, or DIR/train/<class>/... with DIR/test (or DIR/val)/<class>/... . Without separate
// splits, every `test_every`-th image of each class (sorted by name) goes to the test split. A corrupt image is an
// error naming it, or, with `skip_corrupt`, left out and listed in `skipped`.
ImportedDataset import_image_folder(const std::string& dir, int64_t size, int64_t test_every = 10,
                                    bool skip_corrupt = false);

// CIFAR-10 (data_batch_*.bin, test_batch.bin, batches.meta.txt) or CIFAR-100 (train.bin, test.bin,
// fine_label_names.txt; fine labels).
ImportedDataset import_cifar(const std::string& dir);

}  // namespace tal
