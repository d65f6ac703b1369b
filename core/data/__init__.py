"""Data: class sets, the FER2013/FERPlus/image-folder readers, images, the data set, its store, augmentation."""
