//! The attribute tags this crate reads, by keyword.
#![allow(missing_docs)]

use crate::dataset::Tag;

pub const FILE_META_GROUP_LENGTH: Tag = Tag(0x0002, 0x0000);
pub const MEDIA_STORAGE_SOP_CLASS_UID: Tag = Tag(0x0002, 0x0002);
pub const MEDIA_STORAGE_SOP_INSTANCE_UID: Tag = Tag(0x0002, 0x0003);
pub const TRANSFER_SYNTAX_UID: Tag = Tag(0x0002, 0x0010);
pub const IMPLEMENTATION_CLASS_UID: Tag = Tag(0x0002, 0x0012);
pub const IMPLEMENTATION_VERSION_NAME: Tag = Tag(0x0002, 0x0013);

pub const DIRECTORY_RECORD_SEQUENCE: Tag = Tag(0x0004, 0x1220);
pub const DIRECTORY_RECORD_TYPE: Tag = Tag(0x0004, 0x1430);
pub const REFERENCED_FILE_ID: Tag = Tag(0x0004, 0x1500);

pub const SPECIFIC_CHARACTER_SET: Tag = Tag(0x0008, 0x0005);
pub const SOP_CLASS_UID: Tag = Tag(0x0008, 0x0016);
pub const SOP_INSTANCE_UID: Tag = Tag(0x0008, 0x0018);
pub const STUDY_DATE: Tag = Tag(0x0008, 0x0020);
pub const SERIES_DATE: Tag = Tag(0x0008, 0x0021);
pub const STUDY_TIME: Tag = Tag(0x0008, 0x0030);
pub const ACCESSION_NUMBER: Tag = Tag(0x0008, 0x0050);
pub const MODALITY: Tag = Tag(0x0008, 0x0060);
pub const STUDY_DESCRIPTION: Tag = Tag(0x0008, 0x1030);
pub const SERIES_DESCRIPTION: Tag = Tag(0x0008, 0x103E);

pub const PATIENT_NAME: Tag = Tag(0x0010, 0x0010);
pub const PATIENT_ID: Tag = Tag(0x0010, 0x0020);
pub const PATIENT_IDENTITY_REMOVED: Tag = Tag(0x0012, 0x0062);
pub const DEIDENTIFICATION_METHOD: Tag = Tag(0x0012, 0x0063);

pub const STUDY_INSTANCE_UID: Tag = Tag(0x0020, 0x000D);
pub const SERIES_INSTANCE_UID: Tag = Tag(0x0020, 0x000E);
pub const SERIES_NUMBER: Tag = Tag(0x0020, 0x0011);
pub const INSTANCE_NUMBER: Tag = Tag(0x0020, 0x0013);
pub const IMAGE_POSITION_PATIENT: Tag = Tag(0x0020, 0x0032);
pub const IMAGE_ORIENTATION_PATIENT: Tag = Tag(0x0020, 0x0037);
pub const SLICE_LOCATION: Tag = Tag(0x0020, 0x1041);

pub const SAMPLES_PER_PIXEL: Tag = Tag(0x0028, 0x0002);
pub const PHOTOMETRIC_INTERPRETATION: Tag = Tag(0x0028, 0x0004);
pub const PLANAR_CONFIGURATION: Tag = Tag(0x0028, 0x0006);
pub const NUMBER_OF_FRAMES: Tag = Tag(0x0028, 0x0008);
pub const ROWS: Tag = Tag(0x0028, 0x0010);
pub const COLUMNS: Tag = Tag(0x0028, 0x0011);
pub const PIXEL_SPACING: Tag = Tag(0x0028, 0x0030);
pub const BITS_ALLOCATED: Tag = Tag(0x0028, 0x0100);
pub const BITS_STORED: Tag = Tag(0x0028, 0x0101);
pub const HIGH_BIT: Tag = Tag(0x0028, 0x0102);
pub const PIXEL_REPRESENTATION: Tag = Tag(0x0028, 0x0103);
pub const WINDOW_CENTER: Tag = Tag(0x0028, 0x1050);
pub const WINDOW_WIDTH: Tag = Tag(0x0028, 0x1051);
pub const RESCALE_INTERCEPT: Tag = Tag(0x0028, 0x1052);
pub const RESCALE_SLOPE: Tag = Tag(0x0028, 0x1053);
pub const RESCALE_TYPE: Tag = Tag(0x0028, 0x1054);
pub const WINDOW_CENTER_WIDTH_EXPLANATION: Tag = Tag(0x0028, 0x1055);
pub const VOI_LUT_FUNCTION: Tag = Tag(0x0028, 0x1056);
pub const RED_PALETTE_DESCRIPTOR: Tag = Tag(0x0028, 0x1101);
pub const GREEN_PALETTE_DESCRIPTOR: Tag = Tag(0x0028, 0x1102);
pub const BLUE_PALETTE_DESCRIPTOR: Tag = Tag(0x0028, 0x1103);
pub const RED_PALETTE_DATA: Tag = Tag(0x0028, 0x1201);
pub const GREEN_PALETTE_DATA: Tag = Tag(0x0028, 0x1202);
pub const BLUE_PALETTE_DATA: Tag = Tag(0x0028, 0x1203);
pub const SEGMENTED_RED_PALETTE_DATA: Tag = Tag(0x0028, 0x1221);
pub const SEGMENTED_GREEN_PALETTE_DATA: Tag = Tag(0x0028, 0x1222);
pub const SEGMENTED_BLUE_PALETTE_DATA: Tag = Tag(0x0028, 0x1223);
pub const LOSSY_IMAGE_COMPRESSION: Tag = Tag(0x0028, 0x2110);
pub const MODALITY_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3000);
pub const LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x3002);
pub const LUT_EXPLANATION: Tag = Tag(0x0028, 0x3003);
pub const MODALITY_LUT_TYPE: Tag = Tag(0x0028, 0x3004);
pub const LUT_DATA: Tag = Tag(0x0028, 0x3006);
pub const VOI_LUT_SEQUENCE: Tag = Tag(0x0028, 0x3010);

pub const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);
pub const FLOAT_PIXEL_DATA: Tag = Tag(0x7FE0, 0x0008);
pub const DOUBLE_FLOAT_PIXEL_DATA: Tag = Tag(0x7FE0, 0x0009);

pub const ITEM: Tag = Tag(0xFFFE, 0xE000);
pub const ITEM_DELIMITATION: Tag = Tag(0xFFFE, 0xE00D);
pub const SEQUENCE_DELIMITATION: Tag = Tag(0xFFFE, 0xE0DD);
