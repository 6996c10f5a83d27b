// Package browser holds Tollgate's end-to-end tests of the web dashboard in
// a real headless Chromium: they build and start the real tollgate binary,
// drive its pages as a person would (sign in, create a group, generate a key,
// copy it, use it, watch the usage chart, revoke it), check the role and CSRF
// rules from the browser, and save screenshots of the main pages.
//
// The tests need Chromium (Debian's chromium, or the binary named by
// TOLLGATE_CHROMIUM). Without it they skip, unless CI=true, where a missing
// browser fails the run. Screenshots go to TOLLGATE_SCREENSHOTS when it is
// set; .ci/run sets it to artifacts/screenshots, which CI keeps.
package browser
