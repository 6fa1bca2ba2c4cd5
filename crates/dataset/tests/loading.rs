//! Loading the seed layout and image folders: accepted inputs and one test per kind of bad
//! input, each checking that the error names the file.

mod common;

use common::{f32_bytes, f64_bytes, raw_npy, u8_patches};
use craters_dataset::{
    ClassFolders, Dataset, Error, PixelScale, SeedData, inspect, load_images, load_labelled_folder,
    load_labels, load_unlabelled_folder, read_npy, seed_files, write_npy,
};
use std::path::Path;

fn assert_names(err: &Error, path: &Path) {
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name {}: {text}",
        path.display()
    );
}

#[test]
fn reads_uint8_flat_patches_scaled_to_unit() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(dir.path(), "x.npy", "|u1", false, &[2, 2304], &u8_patches(2));
    let images = load_images(&path).unwrap();
    assert_eq!(images.scale, PixelScale::Integer255);
    assert_eq!(images.pixels.len(), 2 * 2304);
    assert_eq!(images.pixels[2304 + 254], 1.0); // (1 + 254) mod 256 = 255 → 1.0
    assert_eq!(images.pixels[1], 1.0 / 255.0);
}

#[test]
fn reads_every_image_shape_and_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let unit: Vec<f32> = (0..2304).map(|i| i as f32 / 2303.0).collect();
    let p = raw_npy(
        dir.path(),
        "f32.npy",
        "<f4",
        false,
        &[1, 48, 48],
        &f32_bytes(&unit),
    );
    let images = load_images(&p).unwrap();
    assert_eq!(images.scale, PixelScale::FloatUnit);
    assert_eq!(images.pixels, unit);

    let wide: Vec<f64> = (0..2304).map(|i| (i % 256) as f64).collect();
    let p = raw_npy(
        dir.path(),
        "f64.npy",
        "<f8",
        false,
        &[1, 48, 48, 1],
        &f64_bytes(&wide),
    );
    let images = load_images(&p).unwrap();
    assert_eq!(images.scale, PixelScale::Float255);
    assert_eq!(images.pixels[255], 1.0);

    let ints: Vec<u8> = (0..2304i64).flat_map(|i| (i % 256).to_le_bytes()).collect();
    let p = raw_npy(dir.path(), "i64.npy", "<i8", false, &[1, 2304], &ints);
    let images = load_images(&p).unwrap();
    assert_eq!(images.scale, PixelScale::Integer255);
    assert_eq!(images.pixels[3], 3.0 / 255.0);
}

#[test]
fn reads_labels_of_any_numeric_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>); 4] = [
        ("|b1", vec![0, 1, 1]),
        ("|i1", vec![0, 1, 1]),
        ("<i4", [0i32, 1, 1].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ("<f8", f64_bytes(&[0.0, 1.0, 1.0])),
    ];
    for (descr, data) in cases {
        let p = raw_npy(dir.path(), "y.npy", descr, false, &[3], &data);
        assert_eq!(load_labels(&p).unwrap(), vec![0, 1, 1], "{descr}");
    }
    let p = raw_npy(dir.path(), "y2.npy", "|u1", false, &[3, 1], &[1, 0, 1]);
    assert_eq!(load_labels(&p).unwrap(), vec![1, 0, 1]);
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Xtrain1.npy");
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::MissingFile { .. }), "{err}");
    assert_names(&err, &path);
    let err = SeedData::load(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, Error::MissingFile { .. }), "{err}");
}

#[test]
fn not_an_npy_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    std::fs::write(&path, "x,y\n1,2\n").unwrap();
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::NotNpy { .. }), "{err}");
    assert_names(&err, &path);
}

#[test]
fn malformed_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    std::fs::write(&path, b"\x93NUMPY\x01\x00\x04\x00{'de").unwrap();
    let err = read_npy(&path).unwrap_err();
    assert!(matches!(err, Error::BadHeader { .. }), "{err}");
    assert_names(&err, &path);
}

#[test]
fn truncated_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = u8_patches(2);
    data.truncate(3000);
    let path = raw_npy(dir.path(), "x.npy", "|u1", false, &[2, 2304], &data);
    let err = load_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                expected: 4608,
                found: 3000,
                ..
            }
        ),
        "{err}"
    );
    assert_names(&err, &path);
}

#[test]
fn unsupported_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(dir.path(), "x.npy", "<c8", false, &[1, 2304], &vec![0; 2304 * 8]);
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::UnsupportedDtype { .. }), "{err}");
    assert_names(&err, &path);
    let path = raw_npy(dir.path(), "b.npy", "|b1", false, &[1, 2304], &vec![0; 2304]);
    let err = load_images(&path).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedDtype { .. }),
        "bool pixels: {err}"
    );
}

#[test]
fn fortran_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(dir.path(), "x.npy", "|u1", true, &[2, 2304], &u8_patches(2));
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::FortranOrder { .. }), "{err}");
    assert_names(&err, &path);
}

#[test]
fn big_endian() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(dir.path(), "x.npy", ">f4", false, &[1, 2304], &vec![0; 2304 * 4]);
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::BigEndian { .. }), "{err}");
    assert_names(&err, &path);
}

#[test]
fn wrong_pixel_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(dir.path(), "x.npy", "|u1", false, &[2, 2300], &vec![0; 4600]);
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::WrongShape { .. }), "{err}");
    assert!(err.to_string().contains("(N, 2304)"), "{err}");
    assert_names(&err, &path);
    let path = raw_npy(dir.path(), "y.npy", "|u1", false, &[2, 2], &[0, 1, 0, 1]);
    assert!(matches!(load_labels(&path), Err(Error::WrongShape { .. })));
}

#[test]
fn length_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    raw_npy(
        dir.path(),
        seed_files::X_TRAIN,
        "|u1",
        false,
        &[3, 2304],
        &u8_patches(3),
    );
    let y = raw_npy(dir.path(), seed_files::Y_TRAIN, "|u1", false, &[2], &[0, 1]);
    let err = SeedData::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                n_images: 3,
                n_labels: 2,
                ..
            }
        ),
        "{err}"
    );
    assert_names(&err, &y);
    let err = inspect(dir.path(), &ClassFolders::default()).unwrap_err();
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err}");
}

#[test]
fn label_other_than_zero_or_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(
        dir.path(),
        "y.npy",
        "<f8",
        false,
        &[3],
        &f64_bytes(&[0.0, 1.0, 0.5]),
    );
    let err = load_labels(&path).unwrap_err();
    assert!(matches!(err, Error::BadLabel { index: 2, .. }), "{err}");
    assert_names(&err, &path);
    let path = raw_npy(dir.path(), "y2.npy", "|i1", false, &[2], &[0, 0xff]);
    assert!(matches!(
        load_labels(&path),
        Err(Error::BadLabel { value: -1.0, .. })
    ));
}

#[test]
fn nan_or_infinity() {
    let dir = tempfile::tempdir().unwrap();
    let mut pixels = vec![0.5f32; 2304];
    pixels[7] = f32::NAN;
    let path = raw_npy(dir.path(), "x.npy", "<f4", false, &[1, 2304], &f32_bytes(&pixels));
    let err = load_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinitePixel {
                sample: 0,
                pixel: 7,
                ..
            }
        ),
        "{err}"
    );
    assert_names(&err, &path);
    let path = raw_npy(
        dir.path(),
        "y.npy",
        "<f8",
        false,
        &[2],
        &f64_bytes(&[0.0, f64::INFINITY]),
    );
    assert!(matches!(
        load_labels(&path),
        Err(Error::NonFinite { index: 1, .. })
    ));
    let mut two = vec![0.5f32; 2 * 2304];
    two[2304 + 3] = f32::INFINITY;
    let err = Dataset::new("memory", two, None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinitePixel {
                sample: 1,
                pixel: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn pixels_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(
        dir.path(),
        "x.npy",
        "<f8",
        false,
        &[1, 2304],
        &f64_bytes(&vec![300.0; 2304]),
    );
    assert!(matches!(load_images(&path), Err(Error::PixelRange { .. })));
    let ints: Vec<u8> = (0..2304i64).flat_map(|i| (i - 1).to_le_bytes()).collect();
    let path = raw_npy(dir.path(), "i.npy", "<i8", false, &[1, 2304], &ints);
    assert!(matches!(
        load_images(&path),
        Err(Error::PixelRange {
            index: 0,
            value: -1.0,
            ..
        })
    ));
}

#[test]
fn empty_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = raw_npy(dir.path(), "x.npy", "|u1", false, &[0, 2304], &[]);
    let err = load_images(&path).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");
    assert_names(&err, &path);
    let path = raw_npy(dir.path(), "y.npy", "|u1", false, &[0], &[]);
    assert!(matches!(load_labels(&path), Err(Error::Empty { .. })));
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        load_unlabelled_folder(empty.path()),
        Err(Error::NothingToLoad { .. })
    ));
    assert!(matches!(
        inspect(empty.path(), &ClassFolders::default()),
        Err(Error::NothingToLoad { .. })
    ));
}

#[test]
fn unreadable_image() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("crater")).unwrap();
    let bad = dir.path().join("crater").join("broken.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let err = load_labelled_folder(dir.path(), &ClassFolders::default()).unwrap_err();
    assert!(matches!(err, Error::UnreadableImage { .. }), "{err}");
    assert_names(&err, &bad);
}

#[test]
fn seed_layout_with_hidden_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(&d.join(seed_files::X_TRAIN), &[4, 2304], &u8_patches(4)).unwrap();
    write_npy(&d.join(seed_files::Y_TRAIN), &[4], &[0u8, 1, 1, 1]).unwrap();
    write_npy(&d.join(seed_files::X_EXTRA), &[2, 2304], &u8_patches(2)).unwrap();
    write_npy(&d.join(seed_files::X_TEST), &[3, 2304], &u8_patches(3)).unwrap();
    write_npy(&d.join(seed_files::Y_TEST_HIDDEN), &[3], &[1i64, 0, 1]).unwrap();
    let data = SeedData::load(d).unwrap();
    assert_eq!(data.train.len(), 4);
    assert_eq!(data.train.labels(), Some(&[0u8, 1, 1, 1][..]));
    assert_eq!(
        data.extra.as_ref().map(|e| (e.len(), e.labels().is_none())),
        Some((2, true))
    );
    assert_eq!(
        data.test.as_ref().and_then(|t| t.labels()),
        Some(&[1u8, 0, 1][..])
    );
    let report = inspect(d, &ClassFolders::default()).unwrap();
    assert_eq!(report.layout, "seed_layout");
    assert_eq!(report.files.len(), 5);
    let y = &report.files[1];
    assert_eq!((y.file.as_str(), y.count), (seed_files::Y_TRAIN, 4));
    let balance = y.class_balance.as_ref().unwrap();
    assert_eq!((balance.negatives, balance.positives), (1, 3));
    assert_eq!(balance.balanced_weights.unwrap().negative, 2.0);
}

fn save_png(path: &Path, width: u32, height: u32, rgb: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if rgb {
        let img = image::RgbImage::from_fn(width, height, |x, _| image::Rgb([x as u8, 0, 255]));
        img.save(path).unwrap();
    } else {
        let img = image::GrayImage::from_fn(width, height, |x, y| image::Luma([((x + y) * 2) as u8]));
        img.save(path).unwrap();
    }
}

#[test]
fn labelled_image_folder_in_imagefolder_convention() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    save_png(&d.join("crater/b.png"), 48, 48, false);
    save_png(&d.join("crater/nested/a.png"), 100, 60, true);
    save_png(&d.join("non-crater/c.pgm"), 20, 20, false);
    let jpeg = image::GrayImage::from_pixel(64, 64, image::Luma([200]));
    jpeg.save(d.join("non-crater/d.jpg")).unwrap();
    std::fs::write(d.join("non-crater/notes.txt"), "skipped").unwrap();
    let data = load_labelled_folder(d, &ClassFolders::default()).unwrap();
    assert_eq!(data.len(), 4);
    let ids: Vec<&str> = data.ids().unwrap().iter().map(String::as_str).collect();
    assert_eq!(
        ids,
        [
            "crater/b.png",
            "crater/nested/a.png",
            "non-crater/c.pgm",
            "non-crater/d.jpg"
        ]
    );
    assert_eq!(data.labels(), Some(&[1u8, 1, 0, 0][..]));
    // A 48×48 grayscale image is taken as it is: pixel (x, y) = 2(x + y) / 255.
    let first = data.image(0).unwrap();
    assert!((first[48 + 3] - 8.0 / 255.0).abs() < 1e-6);
    // A uniform JPEG stays uniform after resizing (up to JPEG's rounding).
    assert!(
        data.image(3)
            .unwrap()
            .iter()
            .all(|&p| (p - 200.0 / 255.0).abs() < 0.02)
    );

    save_png(&d.join("maybe/e.png"), 48, 48, false);
    let err = load_labelled_folder(d, &ClassFolders::default()).unwrap_err();
    assert!(
        matches!(err, Error::UnknownClassFolder { ref name, .. } if name == "maybe"),
        "{err}"
    );
}

#[test]
fn unlabelled_folder_and_custom_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    save_png(&d.join("z.png"), 30, 30, true);
    save_png(&d.join("a/y.png"), 48, 48, false);
    let data = load_unlabelled_folder(d).unwrap();
    assert_eq!(data.ids().unwrap(), ["a/y.png", "z.png"]);
    assert!(data.labels().is_none());

    let classes = ClassFolders {
        positive: "yes".into(),
        negative: "no".into(),
    };
    let labelled = tempfile::tempdir().unwrap();
    save_png(&labelled.path().join("yes/1.png"), 48, 48, false);
    save_png(&labelled.path().join("no/2.png"), 48, 48, false);
    let data = load_labelled_folder(labelled.path(), &classes).unwrap();
    assert_eq!(data.labels(), Some(&[0u8, 1][..]));
    let report = inspect(labelled.path(), &classes).unwrap();
    assert_eq!(report.layout, "image_folder");
    assert_eq!(report.folder.unwrap().images, 2);
}

#[test]
fn dataset_subset_keeps_labels_and_ids() {
    let pixels: Vec<f32> = (0..3 * 2304).map(|i| (i / 2304) as f32 / 2.0).collect();
    let data = Dataset::new("memory", pixels, Some(vec![0, 1, 1]))
        .unwrap()
        .with_ids(vec!["a".into(), "b".into(), "c".into()])
        .unwrap();
    let sub = data.subset(&[2, 0]).unwrap();
    assert_eq!(sub.labels(), Some(&[1u8, 0][..]));
    assert_eq!(sub.ids().unwrap(), ["c", "a"]);
    assert_eq!(sub.image(0).unwrap()[0], 1.0);
    assert!(data.subset(&[3]).is_err());
    assert!(matches!(data.subset(&[]), Err(Error::Empty { .. })));
}

#[cfg(unix)]
#[test]
fn folder_walks_follow_no_link_loop_reach_no_other_class_and_skip_fifos() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("images");
    for class in ["crater", "non-crater"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
        image::GrayImage::from_pixel(48, 48, image::Luma([if class == "crater" { 200 } else { 20 }]))
            .save(root.join(class).join("a.png"))
            .unwrap();
    }
    // A loop, a link from one class into the other, a linked file from the other class.
    symlink(&root, root.join("crater").join("loop")).unwrap();
    symlink(root.join("non-crater"), root.join("crater").join("sneaky")).unwrap();
    symlink(
        root.join("non-crater").join("a.png"),
        root.join("crater").join("b.png"),
    )
    .unwrap();
    // A FIFO named like an image: opening it would block forever.
    let fifo = root.join("non-crater").join("pipe.png");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let data = craters_dataset::load_labelled_folder(&root, &Default::default()).unwrap();
    assert_eq!(
        data.labels().unwrap(),
        [1, 0],
        "one image per class, nothing else"
    );
    let notes = data.notes().join("\n");
    assert!(
        notes.contains("loop: a link to a folder; not followed"),
        "{notes}"
    );
    assert!(
        notes.contains("sneaky: a link to a folder; not followed"),
        "{notes}"
    );
    assert!(notes.contains("b.png: a link to something outside"), "{notes}");
    assert!(notes.contains("pipe.png: not a regular file"), "{notes}");
    let unlabelled = craters_dataset::load_unlabelled_folder(&root).unwrap();
    assert_eq!(
        unlabelled.len(),
        3,
        "within the whole folder the linked file counts"
    );
}
